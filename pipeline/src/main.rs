fn main() {
    std::process::exit(tria::cli::main());
}
