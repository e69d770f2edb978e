use rlgrad::dra::{DraConfig, Trainer};
use rlgrad::env::GridWorld;
fn main() {
    let mut config = DraConfig::grid_world_published(3.0);
    config.eval_every = usize::MAX;
    config.n_trials = 100000;
    let mut tr = Trainer::new(&GridWorld::paper(), &config, 1).unwrap();
    for _ in 0..2000 {
        tr.run_trial().unwrap();
    }
    let n = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(300);
    let t = std::time::Instant::now();
    for _ in 0..n {
        tr.run_trial().unwrap();
    }
    println!("{:.1} us/trial", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}
