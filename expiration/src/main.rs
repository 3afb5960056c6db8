fn main() -> anyhow::Result<()> {
    expiration::main()
}
