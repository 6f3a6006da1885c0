use clap::Parser;

fn main() {
    // A closed stdout (`labs list | head`) ends labs quietly, stopping any program it started.
    broken_pipe::end_quietly_after(labs::learner::stop_running_from_signal_handler);
    let cli = labs::cli::Cli::parse();
    std::process::exit(labs::cli::run(cli));
}
