fn main() -> anyhow::Result<()> {
    tickets::main()
}
