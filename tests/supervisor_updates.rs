//! The daily look for a newer release, on the virtual clock: when the releases feed is asked,
//! what its answer does to the status, and a failing feed said once.

use std::time::Duration;

use bittrader_test_support::secs;
use bittrader_test_support::sim::Sim;
use bittrader_worker::config::Config;
use bittrader_worker::model::{this_build, LogNote, Release, UpdateAvailable};
use bittrader_worker::supervisor::Settings;

const DAY: Duration = Duration::from_secs(24 * 3600);

/// The running app's supervisor (with its duties besides the worker) in the default world.
fn app(config: Config) -> Sim {
    let mut sim = Sim::new(Settings::default());
    sim.sup = std::mem::take(&mut sim.sup).with_app(sim.t0, config, false);
    sim
}

fn release(version: semver::Version) -> Release {
    Release {
        page: format!("https://github.com/bittrader/bittrader-worker/releases/tag/v{version}"),
        version,
    }
}

/// The next major version after this build's.
fn newer() -> semver::Version {
    semver::Version::new(this_build().major + 1, 0, 0)
}

fn failures(sim: &Sim) -> usize {
    let notes = sim.log_notes().into_iter();
    notes
        .filter(|note| matches!(note, LogNote::UpdateCheckFailed { .. }))
        .count()
}

#[test]
fn the_feed_is_asked_a_minute_after_start_then_once_a_day() {
    let mut sim = app(Config::with_defaults(4));
    sim.run_for(DAY * 3 + secs(60));
    let first = secs(60);
    assert_eq!(
        sim.update_checks(),
        [first, first + DAY, first + DAY * 2, first + DAY * 3]
    );
}

#[test]
fn check_updates_false_never_asks_and_neither_does_a_supervisor_without_the_app() {
    let off = Config {
        check_updates: false,
        ..Config::with_defaults(4)
    };
    let mut sim = app(off);
    sim.run_for(DAY * 2);
    assert!(sim.update_checks().is_empty());
    let mut bare = Sim::new(Settings::default());
    bare.run_for(DAY * 2);
    assert!(bare.update_checks().is_empty());
}

#[test]
fn a_newer_release_reaches_the_status_and_this_builds_own_does_not() {
    let mut sim = app(Config::with_defaults(4));
    sim.world.releases_feed = Ok(Some(release(this_build())));
    sim.run_for(secs(61));
    assert_eq!(sim.update_checks().len(), 1);
    assert_eq!(sim.sup.status().update, None, "this very version");
    // The same version with build metadata is the same release.
    let mut rebuilt = this_build();
    rebuilt.build = semver::BuildMetadata::new("ci.7").expect("build metadata");
    sim.world.releases_feed = Ok(Some(release(rebuilt)));
    sim.run_for(DAY);
    assert_eq!(sim.sup.status().update, None, "this version, built again");

    let newer = release(newer());
    sim.world.releases_feed = Ok(Some(newer.clone()));
    sim.world.homebrew = true;
    sim.run_for(DAY);
    assert_eq!(
        sim.sup.status().update,
        Some(UpdateAvailable {
            version: newer.version.to_string(),
            page: newer.page.clone(),
            homebrew: true,
        })
    );

    // An older one (the feed rolled back), or none it can name: nothing is offered.
    let older = semver::Version::new(0, 0, 1);
    sim.world.releases_feed = Ok(Some(release(older)));
    sim.run_for(DAY);
    assert_eq!(sim.sup.status().update, None);
    assert_eq!(failures(&sim), 0);
}

#[test]
fn a_failing_feed_is_logged_once_until_it_works_again_and_keeps_what_was_offered() {
    let mut sim = app(Config::with_defaults(4));
    sim.world.releases_feed = Ok(Some(release(newer())));
    sim.run_for(secs(61));
    let offered = sim.sup.status().update;
    assert!(offered.is_some());

    sim.world.releases_feed = Err("http://127.0.0.1:9/latest: answered 500".into());
    sim.run_for(DAY * 5);
    assert_eq!(sim.update_checks().len(), 6, "asked every day meanwhile");
    assert_eq!(failures(&sim), 1, "five failed days, one line");
    assert_eq!(
        sim.sup.status().update,
        offered,
        "the release is no less out"
    );

    sim.world.releases_feed = Ok(None);
    sim.run_for(DAY);
    assert_eq!(failures(&sim), 1);
    sim.world.releases_feed = Err("timed out".into());
    sim.run_for(DAY * 2);
    assert_eq!(
        failures(&sim),
        2,
        "failing again after it worked is said again"
    );
}
