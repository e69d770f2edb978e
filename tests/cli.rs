//! End-to-end tests of the `rlgrad` binary (built with the `cli` feature):
//! `cargo test --features cli --test cli`. Small files in a temporary directory, the binary
//! run with `std::process::Command`, exit statuses, messages and output files checked.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh directory under the target directory's tmp, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("cli-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn rlgrad(dir: &TempDir, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlgrad"))
        .current_dir(&dir.0)
        .args(args)
        .output()
        .expect("the rlgrad binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts the exit status, showing stdout and stderr when it differs.
fn status(out: &Output, expected: i32) {
    assert_eq!(
        out.status.code(),
        Some(expected),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The rows of a CSV file as a header and records.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], rows: &[Vec<String>], name: &str) -> Vec<String> {
    let i = header.iter().position(|h| h == name).unwrap_or_else(|| {
        panic!("no column {name} in {header:?}");
    });
    rows.iter().map(|r| r[i].clone()).collect()
}

/// A simulated cohort of 6 subjects × 120 trials with a spread of θ.
fn simulate(dir: &TempDir, model: &str) -> PathBuf {
    let out = rlgrad(
        dir,
        &[
            "simulate",
            "--model",
            model,
            "--subjects",
            "6",
            "--trials",
            "120",
            "--spread",
            "0.4",
            "--reversal-every",
            "40",
            "--seed",
            "11",
            "--out",
            "sim.csv",
            "--truth",
            "truth.csv",
        ],
    );
    status(&out, 0);
    dir.path("sim.csv")
}

#[test]
fn simulate_then_fit_round_trip() {
    let dir = TempDir::new("roundtrip");
    simulate(&dir, "rw");
    let (header, rows) = read_csv(&dir.path("sim.csv"));
    assert_eq!(header, ["subject", "session", "trial", "action", "reward"]);
    assert_eq!(rows.len(), 6 * 120);

    let out = rlgrad(
        &dir,
        &["fit", "sim.csv", "--model", "rw", "--out", "fits.csv"],
    );
    status(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("6 subjects: 6 converged"), "{stdout}");
    let (header, fits) = read_csv(&dir.path("fits.csv"));
    for name in [
        "subject",
        "n_trials",
        "theta_alpha",
        "alpha",
        "alpha_se",
        "beta_se",
    ] {
        assert!(header.iter().any(|h| h == name), "{name} in {header:?}");
    }
    for name in [
        "log_likelihood",
        "log_posterior",
        "bic",
        "aic",
        "converged",
        "stop_reason",
        "hessian_repaired",
        "alpha_weak",
        "error",
    ] {
        assert!(header.iter().any(|h| h == name), "{name} in {header:?}");
    }
    assert_eq!(fits.len(), 6);
    assert!(
        column(&header, &fits, "n_trials")
            .iter()
            .all(|n| n == "120")
    );
    assert!(
        column(&header, &fits, "converged")
            .iter()
            .all(|c| c == "true")
    );

    // The fitted β tracks the generating β (6 subjects, 120 trials: a loose check).
    let (th, truth) = read_csv(&dir.path("truth.csv"));
    let true_beta: Vec<f64> = column(&th, &truth, "beta")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    let fit_beta: Vec<f64> = column(&header, &fits, "beta")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        (mean(&fit_beta) / mean(&true_beta) - 1.0).abs() < 0.5,
        "{fit_beta:?} vs {true_beta:?}"
    );

    // Seeded: the same command gives the same file.
    let out = rlgrad(
        &dir,
        &["fit", "sim.csv", "--model", "rw", "--out", "again.csv"],
    );
    status(&out, 0);
    assert_eq!(
        fs::read(dir.path("fits.csv")).unwrap(),
        fs::read(dir.path("again.csv")).unwrap()
    );
}

#[test]
fn fit_em_writes_results_and_json() {
    let dir = TempDir::new("em");
    simulate(&dir, "rw");
    let out = rlgrad(
        &dir,
        &[
            "fit",
            "sim.csv",
            "--em",
            "--covariance",
            "diagonal",
            "--max-iterations",
            "15",
            "--starts",
            "1",
            "--out",
            "fits.csv",
            "--em-json",
            "em.json",
            "--quiet",
        ],
    );
    status(&out, 0);
    assert!(text(&out.stdout).contains("group prior on theta"));
    let (_, fits) = read_csv(&dir.path("fits.csv"));
    assert_eq!(fits.len(), 6);
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path("em.json")).unwrap()).unwrap();
    assert_eq!(json["parameters"], serde_json::json!(["alpha", "beta"]));
    assert_eq!(json["mu"].as_array().unwrap().len(), 2);
    assert_eq!(json["sigma"].as_array().unwrap().len(), 2);
    let trace = json["trace"].as_array().unwrap();
    assert!(!trace.is_empty() && trace.len() <= 15);
    assert_eq!(json["iterations"].as_u64().unwrap() as usize, trace.len());
}

#[test]
fn compare_writes_table_csv_and_json() {
    let dir = TempDir::new("compare");
    simulate(&dir, "rw");
    let out = rlgrad(
        &dir,
        &[
            "compare",
            "sim.csv",
            "--model",
            "rw",
            "--model",
            "rw-persev",
            "--ibic-samples",
            "100",
            "--max-iterations",
            "10",
            "--starts",
            "1",
            "--out",
            "models.csv",
            "--subjects",
            "subjects.csv",
            "--json",
            "compare.json",
        ],
    );
    status(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("| rw | 2 |"), "{stdout}");
    assert!(stdout.contains("| rw-persev | 3 |"), "{stdout}");
    assert!(stdout.contains("best by ibic:"), "{stdout}");
    let (header, models) = read_csv(&dir.path("models.csv"));
    assert_eq!(column(&header, &models, "model"), ["rw", "rw-persev"]);
    assert!(header.iter().any(|h| h == "delta_ibic"));
    let (header, subjects) = read_csv(&dir.path("subjects.csv"));
    assert_eq!(header, ["subject", "model", "bic", "aic", "laplace"]);
    assert_eq!(subjects.len(), 12);
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path("compare.json")).unwrap()).unwrap();
    assert_eq!(json["models"].as_array().unwrap().len(), 2);
    assert!(json["best"]["ibic"].is_string());

    // One model is not a comparison: a usage error.
    let out = rlgrad(&dir, &["compare", "sim.csv", "--model", "rw"]);
    status(&out, 2);
}

/// Missed trials (an empty or NA action) are kept and counted: `fit` and `compare` say how
/// many, and the results count every trial in `n_trials`; the latents of a missed trial
/// have empty fields.
#[test]
fn missed_trials_are_kept_and_reported() {
    let dir = TempDir::new("missed");
    simulate(&dir, "rw");
    // Every 10th row of the simulated file loses its response: 72 of 720, 12 per subject.
    let sim = fs::read_to_string(dir.path("sim.csv")).unwrap();
    let mut lines: Vec<String> = sim.lines().map(String::from).collect();
    for (i, line) in lines.iter_mut().enumerate().skip(1) {
        if i % 10 == 0 {
            let mut f: Vec<&str> = line.split(',').collect();
            f[3] = if i % 20 == 0 { "NA" } else { "" };
            *line = f.join(",");
        }
    }
    fs::write(dir.path("gaps.csv"), lines.join("\n") + "\n").unwrap();

    let out = rlgrad(
        &dir,
        &[
            "fit",
            "gaps.csv",
            "--model",
            "rw-persev",
            "--out",
            "fits.csv",
        ],
    );
    status(&out, 0);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("missed: 72 trial(s) without a response"),
        "{stdout}"
    );
    let (header, fits) = read_csv(&dir.path("fits.csv"));
    assert!(
        column(&header, &fits, "n_trials")
            .iter()
            .all(|n| n == "120")
    );

    let out = rlgrad(
        &dir,
        &[
            "compare",
            "gaps.csv",
            "--model",
            "rw",
            "--model",
            "rw-persev",
            "--ibic-samples",
            "50",
            "--max-iterations",
            "3",
            "--starts",
            "1",
        ],
    );
    status(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("missed: 72 trial(s)"), "{stdout}");

    let out = rlgrad(
        &dir,
        &[
            "latents",
            "gaps.csv",
            "--fits",
            "fits.csv",
            "--model",
            "rw-persev",
            "--out",
            "latents.csv",
        ],
    );
    status(&out, 0);
    let (header, rows) = read_csv(&dir.path("latents.csv"));
    let actions = column(&header, &rows, "action");
    let log_lik = column(&header, &rows, "log_lik");
    assert_eq!(rows.len(), 720);
    assert_eq!(actions.iter().filter(|a| a.is_empty()).count(), 72);
    for (a, l) in actions.iter().zip(&log_lik) {
        assert_eq!(a.is_empty(), l.is_empty());
    }
}

#[test]
fn latents_from_a_fits_file_and_on_the_fly() {
    let dir = TempDir::new("latents");
    simulate(&dir, "rw");
    status(
        &rlgrad(&dir, &["fit", "sim.csv", "--out", "fits.csv", "-q"]),
        0,
    );
    let out = rlgrad(
        &dir,
        &[
            "latents",
            "sim.csv",
            "--fits",
            "fits.csv",
            "--out",
            "latents.csv",
        ],
    );
    status(&out, 0);
    let (header, rows) = read_csv(&dir.path("latents.csv"));
    assert_eq!(
        header,
        [
            "subject", "session", "trial", "state", "action", "reward", "q_0", "q_1", "q_chosen",
            "delta", "p_0", "p_1", "log_lik"
        ]
    );
    assert_eq!(rows.len(), 6 * 120);

    // The summed log-likelihood contributions of a subject are its fitted log-likelihood.
    let (fh, fits) = read_csv(&dir.path("fits.csv"));
    let loglik: f64 = column(&fh, &fits, "log_likelihood")[0].parse().unwrap();
    let sum: f64 = rows
        .iter()
        .filter(|r| r[0] == "s1")
        .map(|r| r[12].parse::<f64>().unwrap())
        .sum();
    assert!(
        (sum - loglik).abs() < 1e-9 * loglik.abs().max(1.0),
        "{sum} vs {loglik}"
    );

    // Fitted here (same seed and prior): the same file.
    let out = rlgrad(&dir, &["latents", "sim.csv", "--out", "onthefly.csv"]);
    status(&out, 0);
    assert_eq!(
        fs::read(dir.path("latents.csv")).unwrap(),
        fs::read(dir.path("onthefly.csv")).unwrap()
    );

    // A fits file of another model is refused, naming the missing column.
    let out = rlgrad(
        &dir,
        &[
            "latents", "sim.csv", "--model", "rw-dual", "--fits", "fits.csv", "--out", "x.csv",
        ],
    );
    status(&out, 2);
    assert!(text(&out.stderr).contains("theta_alpha_pos"));
}

#[test]
fn a_bad_file_exits_2_naming_line_column_subject_and_trial() {
    let dir = TempDir::new("bad");
    fs::write(
        dir.path("bad.csv"),
        "subject,trial,action,reward\ns1,1,0,1\ns1,2,1,0\ns1,3,left,1\n",
    )
    .unwrap();
    let out = rlgrad(&dir, &["fit", "bad.csv", "--out", "fits.csv"]);
    status(&out, 2);
    let stderr = text(&out.stderr);
    for needle in ["bad.csv", "line 4", "`action`", "`left`", "`s1`", "trial 3"] {
        assert!(stderr.contains(needle), "{needle} in {stderr}");
    }
    assert!(!dir.path("fits.csv").exists(), "nothing is written");

    // A missing file is bad data too; an unknown option a bad argument.
    status(&rlgrad(&dir, &["fit", "missing.csv"]), 2);
    status(&rlgrad(&dir, &["fit", "bad.csv", "--no-such-option"]), 2);
    status(&rlgrad(&dir, &["fit", "bad.csv", "--model", "nope"]), 2);
}

#[test]
fn refuses_to_write_over_the_input() {
    let dir = TempDir::new("overwrite");
    simulate(&dir, "rw");
    let before = fs::read(dir.path("sim.csv")).unwrap();
    for args in [
        &["fit", "sim.csv", "--out", "sim.csv"][..],
        &["fit", "sim.csv", "--out", "./sim.csv"][..],
        &["latents", "sim.csv", "--out", "sim.csv"][..],
        &[
            "compare",
            "sim.csv",
            "--model",
            "rw,rw-dual",
            "--json",
            "sim.csv",
        ][..],
    ] {
        let out = rlgrad(&dir, args);
        status(&out, 2);
        assert!(
            text(&out.stderr).contains("refusing to write over an input"),
            "{}",
            text(&out.stderr)
        );
    }
    assert_eq!(fs::read(dir.path("sim.csv")).unwrap(), before);

    // An output in a directory that does not exist fails before any work (status 1).
    let out = rlgrad(&dir, &["fit", "sim.csv", "--out", "no/such/dir/fits.csv"]);
    status(&out, 1);
    assert!(text(&out.stderr).contains("does not exist"));
}

#[test]
fn recover_writes_true_and_fitted_values_and_a_summary() {
    let dir = TempDir::new("recover");
    let out = rlgrad(
        &dir,
        &[
            "recover",
            "--model",
            "rw",
            "--subjects",
            "8",
            "--trials",
            "100",
            "--seed",
            "5",
            "--out",
            "rec.csv",
            "--summary",
            "summary.csv",
        ],
    );
    status(&out, 0);
    assert!(
        text(&out.stdout).contains("| beta | 8 |"),
        "{}",
        text(&out.stdout)
    );
    let (header, rows) = read_csv(&dir.path("rec.csv"));
    assert_eq!(rows.len(), 8);
    for name in [
        "true_theta_alpha",
        "fitted_theta_beta",
        "true_beta",
        "fitted_alpha",
    ] {
        assert!(header.iter().any(|h| h == name), "{name} in {header:?}");
    }
    let (header, summary) = read_csv(&dir.path("summary.csv"));
    assert_eq!(
        header,
        ["parameter", "scale", "n", "correlation", "bias", "rmse"]
    );
    assert_eq!(summary.len(), 4);
    // A parameter the model does not have is a usage error.
    status(&rlgrad(&dir, &["recover", "--param", "kappa=1"]), 2);
}

#[test]
fn help_reads_like_a_manual() {
    let dir = TempDir::new("help");
    let out = rlgrad(&dir, &["--help"]);
    status(&out, 0);
    let top = text(&out.stdout);
    for needle in [
        "fit",
        "compare",
        "simulate",
        "latents",
        "EXIT STATUS",
        "EXAMPLES",
    ] {
        assert!(top.contains(needle), "{needle} in {top}");
    }
    for (sub, needles) in [
        (
            "fit",
            &[
                "OUTPUTS",
                "--em",
                "theta_<p>",
                "EXAMPLES",
                "--prior-variance",
            ][..],
        ),
        (
            "compare",
            &["OUTPUTS", "iBIC", "--ibic-samples", "EXAMPLES"][..],
        ),
        (
            "simulate",
            &["OUTPUTS", "--reversal-every", "--param", "EXAMPLES"][..],
        ),
        ("latents", &["OUTPUTS", "--fits", "delta", "EXAMPLES"][..]),
        ("recover", &["OUTPUTS", "--spread", "RMSE", "EXAMPLES"][..]),
    ] {
        let out = rlgrad(&dir, &[sub, "--help"]);
        status(&out, 0);
        let help = text(&out.stdout);
        for needle in needles {
            assert!(
                help.contains(needle),
                "`{sub} --help` mentions {needle}:\n{help}"
            );
        }
        assert!(help.contains("--delimiter") || sub == "simulate" || sub == "recover");
        assert!(help.contains("--seed"));
    }
    // No subcommand: usage on stderr, status 2.
    status(&rlgrad(&dir, &[]), 2);
}

/// Two subjects of 4 trials for `latents --fits` with a hand-written fits file.
fn two_subjects(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    fs::write(
        dir.path("data.csv"),
        "subject,trial,action,reward\n\
         s1,1,0,1\ns1,2,1,0\ns1,3,0,1\ns1,4,1,1\n\
         s2,1,1,0\ns2,2,1,1\ns2,3,0,0\ns2,4,0,1\n",
    )
    .unwrap();
    dir
}

/// `latents data.csv --fits fits.csv --out latents.csv` with `fits` as the fits file.
fn latents_with(dir: &TempDir, fits: &str, model: &str) -> Output {
    fs::write(dir.path("fits.csv"), fits).unwrap();
    rlgrad(
        dir,
        &[
            "latents",
            "data.csv",
            "--model",
            model,
            "--fits",
            "fits.csv",
            "--out",
            "latents.csv",
        ],
    )
}

#[test]
fn latents_refuses_a_fits_file_of_another_model() {
    let dir = two_subjects("latents-model");
    // An extra parameter (fitted with rw-persev, read as rw).
    let out = latents_with(
        &dir,
        "subject,theta_alpha,theta_beta,theta_kappa\ns1,0.1,0.5,0.2\ns2,0.2,0.4,0.1\n",
        "rw",
    );
    status(&out, 2);
    assert_eq!(
        text(&out.stderr),
        "rlgrad: error: fits.csv, line 1: column `theta_kappa` is not a parameter of --model rw \
         (alpha, beta): is it a results file of `rlgrad fit --model rw`?\n"
    );
    assert!(!dir.path("latents.csv").exists(), "nothing is written");
    // A missing one (fitted with rw, read as rw-persev).
    let out = latents_with(
        &dir,
        "subject,theta_alpha,theta_beta\ns1,0.1,0.5\ns2,0.2,0.4\n",
        "rw-persev",
    );
    status(&out, 2);
    assert_eq!(
        text(&out.stderr),
        "rlgrad: error: fits.csv, line 1: no column `theta_kappa`: is it a results file of \
         `rlgrad fit --model rw-persev`?\n"
    );
    assert!(!dir.path("latents.csv").exists(), "nothing is written");
}

#[test]
fn latents_fits_errors_have_the_right_line_for_every_line_end() {
    let dir = two_subjects("latents-crlf");
    for end in ["\n", "\r\n", "\r"] {
        let fits = [
            "subject,theta_alpha,theta_beta",
            "s1,0.1,0.5",
            "",
            "s2,abc,0.4",
            "",
        ]
        .join(end);
        let out = latents_with(&dir, &fits, "rw");
        status(&out, 2);
        assert_eq!(
            text(&out.stderr),
            "rlgrad: error: fits.csv, line 4, column `theta_alpha`: value `abc` is not a finite \
             number (subject `s2`)\n",
            "line end {end:?}"
        );
    }
}

#[test]
fn latents_warns_once_for_a_failed_fit_and_refuses_a_subject_twice() {
    let dir = two_subjects("latents-failed");
    let out = latents_with(
        &dir,
        "subject,theta_alpha,theta_beta\ns1,0.1,0.5\ns2,,\n",
        "rw",
    );
    status(&out, 0);
    assert_eq!(
        text(&out.stderr),
        "rlgrad: warning: fits.csv, line 3: subject `s2` has no estimates (its fit failed): \
         left out\n"
    );
    let (header, rows) = read_csv(&dir.path("latents.csv"));
    assert_eq!(column(&header, &rows, "subject"), ["s1"; 4]);

    // A failed row after a fitted one of the same subject, or the other way round.
    fs::remove_file(dir.path("latents.csv")).unwrap();
    for (fits, who) in [
        (
            "subject,theta_alpha,theta_beta\ns1,0.1,0.5\ns2,0.2,0.4\ns1,,\n",
            "s1",
        ),
        (
            "subject,theta_alpha,theta_beta\r\ns2,,\r\ns1,0.1,0.5\r\ns2,0.2,0.4\r\n",
            "s2",
        ),
    ] {
        let out = latents_with(&dir, fits, "rw");
        status(&out, 2);
        assert_eq!(
            text(&out.stderr),
            format!(
                "rlgrad: error: fits.csv, line 4: subject `{who}` appears twice (first at line \
                 2)\n"
            )
        );
        assert!(!dir.path("latents.csv").exists(), "nothing is written");
    }
}

#[test]
fn latents_warns_once_about_fitted_subjects_not_in_the_data() {
    let dir = two_subjects("latents-extra");
    let out = latents_with(
        &dir,
        "subject,theta_alpha,theta_beta\ns1,0.1,0.5\ns9,0.3,0.2\ns2,0.2,0.4\n",
        "rw",
    );
    status(&out, 0);
    assert_eq!(
        text(&out.stderr),
        "rlgrad: warning: fits.csv: subject `s9` is not in the data: ignored\n"
    );
    let (header, rows) = read_csv(&dir.path("latents.csv"));
    assert_eq!(rows.len(), 8);
    assert_eq!(column(&header, &rows, "subject")[4], "s2");

    // Many: their count and the first few (a failed one among them is not warned about twice).
    let mut fits = String::from("subject,theta_alpha,theta_beta\ns1,0.1,0.5\ns2,0.2,0.4\n");
    for i in 1..=7 {
        fits += &format!("x{i},0.1,0.5\n");
    }
    fits += "x8,,\n";
    let out = latents_with(&dir, &fits, "rw");
    status(&out, 0);
    assert_eq!(
        text(&out.stderr),
        "rlgrad: warning: fits.csv: 8 subjects (`x1`, `x2`, `x3`, ...) are not in the data: \
         ignored\n"
    );
}

/// A two-step cohort of 4 subjects × `trials` trials of `model`, written to `two-step.csv`.
fn simulate_two_step(dir: &TempDir, model: &str, trials: &str) -> Output {
    rlgrad(
        dir,
        &[
            "simulate",
            "--model",
            model,
            "--subjects",
            "4",
            "--trials",
            trials,
            "--seed",
            "5",
            "--out",
            "two-step.csv",
            "--truth",
            "truth.csv",
        ],
    )
}

#[test]
fn two_step_simulate_fit_and_compare_the_presets() {
    let dir = TempDir::new("two-step");
    let out = simulate_two_step(&dir, "two-step-hybrid", "80");
    status(&out, 0);
    assert!(text(&out.stdout).contains("on the two-step task"));

    // The documented layout: one row per stage, state and next_state columns.
    let (header, rows) = read_csv(&dir.path("two-step.csv"));
    assert_eq!(
        header,
        [
            "subject",
            "session",
            "trial",
            "state",
            "action",
            "reward",
            "next_state"
        ]
    );
    assert_eq!(rows.len(), 4 * 80 * 2);
    let trial = column(&header, &rows, "trial");
    let state = column(&header, &rows, "state");
    let next = column(&header, &rows, "next_state");
    for (i, pair) in rows.chunks(2).enumerate() {
        let (first, second) = (&pair[0], &pair[1]);
        assert_eq!(first[0], second[0], "a trial's two rows are one subject's");
        let row = 2 * i;
        assert_eq!(state[row], "0", "row {row} is stage 1");
        assert!(
            ["1", "2"].contains(&state[row + 1].as_str()),
            "row {row} + 1"
        );
        assert_eq!(next[row], state[row + 1], "next_state is the stage-2 state");
        assert_eq!(next[row + 1], "", "a stage-2 row has no next state");
        // Trial numbers count rows within the subject.
        assert_eq!(trial[row], (row % 160 + 1).to_string());
    }
    let (truth_header, truth) = read_csv(&dir.path("truth.csv"));
    assert_eq!(truth.len(), 4);
    for name in [
        "alpha_1", "alpha_2", "lambda", "w", "beta_1", "beta_2", "kappa",
    ] {
        assert!(truth_header.contains(&format!("theta_{name}")), "{name}");
    }

    // Fitted by MAP with the hybrid model: every subject, every parameter.
    let out = rlgrad(
        &dir,
        &[
            "fit",
            "two-step.csv",
            "--model",
            "two-step-hybrid",
            "--out",
            "fits.csv",
            "-q",
        ],
    );
    status(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("4 subjects: 4 converged"), "{stdout}");
    assert!(stdout.contains("3 state(s), 2 actions"), "{stdout}");
    let (header, fits) = read_csv(&dir.path("fits.csv"));
    assert_eq!(fits.len(), 4);
    for (name, low, high) in [
        ("alpha_1", 0.0, 1.0),
        ("lambda", 0.0, 1.0),
        ("w", 0.0, 1.0),
        ("beta_2", 0.0, f64::INFINITY),
    ] {
        for v in column(&header, &fits, name) {
            let v: f64 = v.parse().unwrap();
            assert!(v > low && v < high, "{name} = {v}");
        }
        assert!(header.contains(&format!("theta_{name}")));
    }
    assert!(column(&header, &fits, "error").iter().all(String::is_empty));

    // The three presets compared on it (a short EM: the table, not the winner, is tested).
    let out = rlgrad(
        &dir,
        &[
            "compare",
            "two-step.csv",
            "--model",
            "two-step-hybrid,two-step-mf,two-step-mb",
            "--covariance",
            "diagonal",
            "--ibic-samples",
            "100",
            "--max-iterations",
            "5",
            "--starts",
            "1",
            "--out",
            "compare.csv",
            "-q",
        ],
    );
    status(&out, 0);
    let (header, models) = read_csv(&dir.path("compare.csv"));
    assert_eq!(
        column(&header, &models, "model"),
        ["two-step-hybrid", "two-step-mf", "two-step-mb"]
    );
    assert_eq!(column(&header, &models, "n_params"), ["7", "6", "4"]);
    assert!(
        column(&header, &models, "n_failed")
            .iter()
            .all(|n| n == "0")
    );
    for v in column(&header, &models, "bic") {
        assert!(v.parse::<f64>().unwrap().is_finite(), "{v}");
    }
}

#[test]
fn task_models_simulate_their_task_recover_and_have_no_latents() {
    let dir = TempDir::new("task-models");
    // A two-step model plays its own task: the bandit's options are refused.
    for option in [["--probs", "0.6,0.4"], ["--reversal-every", "20"]] {
        let out = rlgrad(
            &dir,
            &[
                "simulate",
                "--model",
                "two-step-mb",
                option[0],
                option[1],
                "--out",
                "x.csv",
            ],
        );
        status(&out, 2);
        assert!(text(&out.stderr).contains("two-step task"));
        assert!(!dir.path("x.csv").exists());
    }
    // Parameter recovery through the model's own task.
    let out = rlgrad(
        &dir,
        &[
            "recover",
            "--model",
            "two-step-mb",
            "--subjects",
            "4",
            "--trials",
            "60",
            "--summary",
            "summary.csv",
            "-q",
        ],
    );
    status(&out, 0);
    let (header, rows) = read_csv(&dir.path("summary.csv"));
    assert_eq!(rows.len(), 2 * 4, "four parameters on two scales");
    assert_eq!(
        column(&header, &rows, "parameter")[..4],
        ["alpha_2", "beta_1", "beta_2", "kappa"]
    );

    // No latents for a task model: a usage error before the data are read.
    let out = rlgrad(
        &dir,
        &[
            "latents",
            "missing.csv",
            "--model",
            "two-step-hybrid",
            "--out",
            "l.csv",
        ],
    );
    status(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no latents"), "{stderr}");
    assert!(stderr.contains("rw-per-state"), "{stderr}");
    assert!(!stderr.contains("missing.csv"), "{stderr}");
}

#[test]
fn rw_kernel_and_rw_per_state_round_trips() {
    let dir = TempDir::new("kernel");
    // The choice-kernel model plays the bandit of --probs (three arms here).
    let out = rlgrad(
        &dir,
        &[
            "simulate",
            "--model",
            "rw-kernel",
            "--param",
            "beta_c=2",
            "--probs",
            "0.7,0.5,0.2",
            "--subjects",
            "3",
            "--trials",
            "100",
            "--out",
            "kernel.csv",
            "--truth",
            "truth.csv",
        ],
    );
    status(&out, 0);
    assert!(text(&out.stdout).contains("beta_c=2"));
    assert!(text(&out.stdout).contains("3-armed bandit"));
    let (header, rows) = read_csv(&dir.path("kernel.csv"));
    assert_eq!(header, ["subject", "session", "trial", "action", "reward"]);
    assert!(column(&header, &rows, "action").contains(&"2".to_string()));
    let out = rlgrad(
        &dir,
        &[
            "fit",
            "kernel.csv",
            "--model",
            "rw-kernel",
            "--out",
            "fits.csv",
            "-q",
        ],
    );
    status(&out, 0);
    let (header, fits) = read_csv(&dir.path("fits.csv"));
    assert_eq!(fits.len(), 3);
    for name in ["theta_alpha", "theta_beta", "theta_alpha_c", "theta_beta_c"] {
        assert!(header.iter().any(|h| h == name), "{name} in {header:?}");
    }

    // One inverse temperature per state of the data, with latents.
    fs::write(
        dir.path("states.csv"),
        "subject,trial,state,action,reward\n\
         s1,1,0,0,1\ns1,2,1,1,0\ns1,3,0,0,1\ns1,4,1,0,1\ns1,5,0,1,0\ns1,6,1,1,1\n",
    )
    .unwrap();
    let out = rlgrad(
        &dir,
        &[
            "fit",
            "states.csv",
            "--model",
            "rw-per-state",
            "--out",
            "ps.csv",
            "-q",
        ],
    );
    status(&out, 0);
    let (header, _) = read_csv(&dir.path("ps.csv"));
    assert!(header.iter().any(|h| h == "theta_beta_2"), "{header:?}");
    assert!(!header.iter().any(|h| h == "theta_beta_3"), "{header:?}");
    let out = rlgrad(
        &dir,
        &[
            "latents",
            "states.csv",
            "--model",
            "rw-per-state",
            "--fits",
            "ps.csv",
            "--out",
            "l.csv",
        ],
    );
    status(&out, 0);
    assert_eq!(read_csv(&dir.path("l.csv")).1.len(), 6);
}

#[test]
fn a_bad_two_step_file_exits_2_naming_the_line() {
    let dir = TempDir::new("bad-two-step");
    // Line 4: a stage-2 row whose stage-1 row is missing (the previous trial was complete).
    fs::write(
        dir.path("bad.csv"),
        "subject,trial,state,action,reward\ns1,1,0,1,0\ns1,2,2,0,1\ns1,3,1,0,1\ns1,4,0,0,0\n",
    )
    .unwrap();
    for args in [
        &[
            "fit",
            "bad.csv",
            "--model",
            "two-step-hybrid",
            "--out",
            "fits.csv",
        ][..],
        &[
            "compare",
            "bad.csv",
            "--model",
            "two-step-mf,two-step-mb",
            "--out",
            "fits.csv",
        ],
    ] {
        let out = rlgrad(&dir, args);
        status(&out, 2);
        let stderr = text(&out.stderr);
        for needle in ["bad.csv", "line 4", "`state`", "`1`", "stage-2 row", "`s1`"] {
            assert!(stderr.contains(needle), "{needle} in {stderr}");
        }
        assert!(!dir.path("fits.csv").exists(), "nothing is written");
    }
    // The same file is fine for a bandit model (three states of one table).
    status(&rlgrad(&dir, &["fit", "bad.csv", "-q"]), 0);

    // A next_state that is not the stage-2 state, in a CRLF file with a blank line and
    // interleaved subjects (s1's first stage-1 choice missed, so it has no stage 2): the
    // stage-1 row's exact line, with its session.
    fs::write(
        dir.path("next.csv"),
        "subject,session,trial,state,action,reward,next_state\r\n\
         s1,a,1,0,,0,\r\ns2,a,1,0,1,0,2\r\n\r\ns2,a,2,2,1,1,\r\ns1,a,2,0,0,0,2\r\n\
         s1,a,3,1,0,1,\r\n",
    )
    .unwrap();
    let out = rlgrad(&dir, &["fit", "next.csv", "--model", "two-step-hybrid"]);
    status(&out, 2);
    let stderr = text(&out.stderr);
    for needle in [
        "next.csv",
        "line 6",
        "`next_state`",
        "`2`",
        "`s1`",
        "session `a`",
    ] {
        assert!(stderr.contains(needle), "{needle} in {stderr}");
    }

    // An action the task does not have.
    fs::write(
        dir.path("action.csv"),
        "subject,trial,state,action,reward\ns1,1,0,2,0\ns1,2,1,0,1\n",
    )
    .unwrap();
    let out = rlgrad(&dir, &["fit", "action.csv", "--model", "two-step-mb"]);
    status(&out, 2);
    let stderr = text(&out.stderr);
    for needle in ["line 2", "`action`", "`2`"] {
        assert!(stderr.contains(needle), "{needle} in {stderr}");
    }
}

#[test]
fn help_lists_the_task_models_the_two_step_layout_and_the_prior() {
    let dir = TempDir::new("help-tasks");
    let out = rlgrad(&dir, &["--help"]);
    status(&out, 0);
    let top = text(&out.stdout);
    for needle in [
        "two-step-hybrid",
        "two-step-mf",
        "two-step-mb",
        "rw-kernel",
        "rw-per-state",
        "alpha_1, alpha_2, lambda, w, beta_1, beta_2, kappa",
        "alpha, beta, alpha_c, beta_c",
        "TWO-STEP FILES",
        "subject,session,trial,state,action,reward,next_state",
        "DEFAULT PRIOR",
        "lapse",
        "any other parameter",
    ] {
        assert!(top.contains(needle), "{needle} in {top}");
    }
    let fit = text(&rlgrad(&dir, &["fit", "--help"]).stdout);
    for needle in ["DEFAULT PRIOR", "beta_c", "two-step-hybrid"] {
        assert!(fit.contains(needle), "{needle} in {fit}");
    }
    let simulate = text(&rlgrad(&dir, &["simulate", "--help"]).stdout);
    for needle in ["two-step", "next_state", "lambda 0.6"] {
        assert!(simulate.contains(needle), "{needle} in {simulate}");
    }
}

/// The go/no-go and restless-bandit models play their own tasks: simulate, fit and compare
/// each; `--arms` sets the restless bandit and is refused for other models.
#[test]
fn go_nogo_and_kalman_models_round_trip() {
    let dir = TempDir::new("gng-kalman");
    status(
        &rlgrad(
            &dir,
            &[
                "simulate",
                "--model",
                "gng-m3",
                "--subjects",
                "6",
                "--trials",
                "120",
                "--out",
                "g.csv",
            ],
        ),
        0,
    );
    let (_, rows) = read_csv(&dir.path("g.csv"));
    assert_eq!(rows.len(), 6 * 120);
    status(
        &rlgrad(
            &dir,
            &["fit", "g.csv", "--model", "gng-m3", "-q", "--out", "gf.csv"],
        ),
        0,
    );
    let (header, _) = read_csv(&dir.path("gf.csv"));
    for p in ["xi", "epsilon", "b", "pi", "rho"] {
        assert!(header.iter().any(|h| h == p), "{p} in {header:?}");
    }
    status(
        &rlgrad(
            &dir,
            &[
                "simulate",
                "--model",
                "kalman-smep",
                "--arms",
                "3",
                "--subjects",
                "6",
                "--trials",
                "100",
                "--out",
                "k.csv",
            ],
        ),
        0,
    );
    let (_, rows) = read_csv(&dir.path("k.csv"));
    assert!(
        rows.iter().all(|r| r[3].parse::<u32>().unwrap() < 3),
        "three arms"
    );
    let out = rlgrad(
        &dir,
        &[
            "compare",
            "k.csv",
            "--model",
            "kalman,kalman-smep",
            "--ibic-samples",
            "50",
            "-q",
            "--out",
            "kc.csv",
        ],
    );
    status(&out, 0);
    assert!(text(&out.stdout).contains("kalman-smep"));
    let out = rlgrad(
        &dir,
        &["simulate", "--model", "rw", "--arms", "3", "--out", "x.csv"],
    );
    status(&out, 2);
    assert!(text(&out.stderr).contains("--arms"));
}

/// A simulated cohort of 8 subjects × 40 trials of `model` in `name`.
fn simulate_small(dir: &TempDir, model: &str, name: &str) {
    let out = rlgrad(
        dir,
        &[
            "simulate",
            "--model",
            model,
            "--subjects",
            "8",
            "--trials",
            "40",
            "--seed",
            "5",
            "--out",
            name,
        ],
    );
    status(&out, 0);
}

/// `rlgrad sample` on `data` with a small run (2 chains × `draws` draws after as many
/// warm-up iterations, depth at most 5, to stay fast in debug builds) and `extra` options.
fn sample(dir: &TempDir, data: &str, model: &str, draws: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "sample",
        data,
        "--model",
        model,
        "--chains",
        "2",
        "--warmup",
        draws,
        "--draws",
        draws,
        "--max-depth",
        "5",
        "--seed",
        "3",
        "-q",
    ];
    args.extend_from_slice(extra);
    rlgrad(dir, &args)
}

fn numbers(rows: &[Vec<String>], from: usize) {
    for row in rows {
        for v in &row[from..] {
            assert!(v.parse::<f64>().is_ok(), "`{v}` in {row:?}");
        }
    }
}

#[test]
fn sample_writes_draws_summary_timing_and_predictive() {
    let dir = TempDir::new("sample");
    simulate_small(&dir, "rw", "sim.csv");
    let out = sample(
        &dir,
        "sim.csv",
        "rw",
        "100",
        &[
            "--draws-out",
            "draws.csv",
            "--summary-out",
            "summary.csv",
            "--timing-out",
            "timing.json",
            "--predictive",
            "3",
            "--predictive-out",
            "pred.csv",
        ],
    );
    status(&out, 0);
    let stdout = text(&out.stdout);
    for part in [
        "8 subjects, 320 trials",
        "2 chains x 100 draws after 100 warm-up",
        "gradient evaluations",
        "divergences:",
        "max R-hat",
        "min bulk ESS per second",
        "mu[alpha]",
        "tau[beta]",
        "corr[alpha,beta]",
        "PSIS-LOO (subjects as observations): elpd",
        "WAIC: elpd",
        "wrote the draws to draws.csv",
    ] {
        assert!(stdout.contains(part), "{part} in\n{stdout}");
    }
    // The group table only, without --subjects-table (subjects appear in warnings only).
    assert!(
        !stdout.lines().any(|l| l.starts_with("alpha[s1] ")),
        "{stdout}"
    );

    let (header, rows) = read_csv(&dir.path("draws.csv"));
    let mut expected: Vec<String> = [
        "chain",
        "draw",
        "mu[alpha]",
        "mu[beta]",
        "tau[alpha]",
        "tau[beta]",
        "corr[alpha,beta]",
    ]
    .map(String::from)
    .to_vec();
    for s in 1..=8 {
        expected.push(format!("alpha[s{s}]"));
        expected.push(format!("beta[s{s}]"));
    }
    assert_eq!(header, expected);
    assert_eq!(rows.len(), 2 * 100);
    assert_eq!(column(&header, &rows, "chain")[150], "1");
    assert_eq!(column(&header, &rows, "draw")[150], "50");
    numbers(&rows, 0);

    let (header, rows) = read_csv(&dir.path("summary.csv"));
    assert_eq!(
        header,
        [
            "quantity",
            "mean",
            "sd",
            "q05",
            "q50",
            "q95",
            "rhat",
            "ess_bulk",
            "ess_tail",
            "mcse_mean",
            "flagged"
        ]
    );
    assert_eq!(rows.len(), 5 + 16);
    assert_eq!(rows[0][0], "mu[alpha]");
    for row in &rows {
        numbers(&[row[..10].to_vec()], 1);
        assert!(row[10] == "true" || row[10] == "false");
    }

    let timing: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path("timing.json")).unwrap()).unwrap();
    for key in [
        "seconds",
        "gradient_evaluations",
        "divergences",
        "max_rhat",
        "min_ess_bulk",
        "min_ess_tail",
        "min_ess_bulk_per_second",
        "elpd_loo",
        "se_loo",
        "elpd_waic",
    ] {
        assert!(timing[key].as_f64().is_some(), "{key} in {timing}");
    }
    assert_eq!(timing["chains"], 2);
    assert_eq!(timing["warmup"], 100);
    assert_eq!(timing["draws"], 100);
    assert_eq!(timing["model"], "rw");
    assert_eq!(timing["n_subjects"], 8);
    assert_eq!(timing["n_trials"], 320);

    let (header, rows) = read_csv(&dir.path("pred.csv"));
    assert_eq!(
        header,
        ["draw", "subject", "session", "trial", "action", "reward"]
    );
    assert_eq!(rows.len(), 3 * 8 * 40, "3 draws x 8 subjects x 40 trials");
    let draws: std::collections::BTreeSet<usize> = column(&header, &rows, "draw")
        .iter()
        .map(|d| d.parse().unwrap())
        .collect();
    assert_eq!(draws.len(), 3);
    assert!(draws.iter().all(|&d| d < 200));
}

#[test]
fn sample_is_reproducible_and_writes_every_subject_on_request() {
    let dir = TempDir::new("sample-seed");
    simulate_small(&dir, "rw", "sim.csv");
    let run = |file: &str, threads: &str| {
        let out = sample(
            &dir,
            "sim.csv",
            "rw",
            "30",
            &[
                "--diagonal",
                "--threads",
                threads,
                "--subjects-table",
                "--draws-out",
                file,
            ],
        );
        status(&out, 0);
        text(&out.stdout)
    };
    let stdout = run("a.csv", "1");
    run("b.csv", "2");
    assert!(stdout.contains("Omega = I"), "{stdout}");
    assert!(stdout.contains("alpha[s8] "), "every subject: {stdout}");
    let a = fs::read(dir.path("a.csv")).unwrap();
    assert_eq!(
        a,
        fs::read(dir.path("b.csv")).unwrap(),
        "same seed, same draws"
    );
    let (header, rows) = read_csv(&dir.path("a.csv"));
    assert!(!header.iter().any(|h| h.starts_with("corr")), "{header:?}");
    assert_eq!(rows.len(), 2 * 30);
}

#[test]
fn sample_refuses_bad_options_and_an_output_over_the_input() {
    let dir = TempDir::new("sample-bad");
    simulate_small(&dir, "rw", "sim.csv");
    for (args, named) in [
        (&["--chains", "0"][..], "--chains"),
        (&["--eta", "0"], "--eta"),
        (&["--tau-sd", "-1"], "--tau-sd"),
        (&["--mu-sd", "0"], "--mu-sd"),
        (&["--draws", "0"], "--draws"),
        (&["--predictive", "5"], "--predictive-out"),
        (&["--predictive-out", "p.csv"], "--predictive"),
        (&["--probs", "0.7,0.3"], "--predictive"),
        (&["--diagonal", "--eta", "3"], "--eta"),
    ] {
        let mut all = vec!["sample", "sim.csv"];
        all.extend_from_slice(args);
        let out = rlgrad(&dir, &all);
        status(&out, 2);
        assert!(
            text(&out.stderr).contains(named),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let before = fs::read(dir.path("sim.csv")).unwrap();
    for flag in ["--draws-out", "--summary-out", "--timing-out"] {
        let out = rlgrad(&dir, &["sample", "sim.csv", flag, "./sim.csv"]);
        status(&out, 2);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(flag) && stderr.contains("input"),
            "{stderr}"
        );
    }
    assert_eq!(
        fs::read(dir.path("sim.csv")).unwrap(),
        before,
        "input untouched"
    );
}

#[test]
fn sample_fits_a_task_model() {
    let dir = TempDir::new("sample-gng");
    simulate_small(&dir, "gng-m1", "g.csv");
    let out = sample(
        &dir,
        "g.csv",
        "gng-m1",
        "30",
        &["--predictive", "2", "--predictive-out", "gp.csv"],
    );
    status(&out, 0);
    let stdout = text(&out.stdout);
    for q in ["mu[xi]", "mu[epsilon]", "tau[rho]", "PSIS-LOO"] {
        assert!(stdout.contains(q), "{q} in\n{stdout}");
    }
    let (header, rows) = read_csv(&dir.path("gp.csv"));
    assert_eq!(header[0], "draw");
    assert!(header.iter().any(|h| h == "state"), "{header:?}");
    assert_eq!(rows.len(), 2 * 8 * 40);
}
