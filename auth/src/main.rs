fn main() -> anyhow::Result<()> {
    auth::main()
}
