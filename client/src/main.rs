fn main() -> anyhow::Result<()> {
    client::main()
}
