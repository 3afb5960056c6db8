fn main() -> anyhow::Result<()> {
    payments::main()
}
