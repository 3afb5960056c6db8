fn main() -> anyhow::Result<()> {
    orders::main()
}
