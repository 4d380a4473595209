//! The macOS power parsers: `pmset -g batt` and `ioreg`'s `AppleClamshellState`. Pure, so they
//! are compiled and tested on every OS.

use crate::model::{Battery, ChargeState, PowerSnapshot};

// ---------------------------------------------------------------------------------------------
// macOS: pmset -g batt
// ---------------------------------------------------------------------------------------------

/// Parses `pmset -g batt`.
///
/// ```text
/// Now drawing from 'AC Power'
///  -InternalBattery-0 (id=5374051)<TAB>80%; AC attached; not charging present: true
/// ```
///
/// Older versions have no `(id=…)` and no `present: true`; a Mac without a battery prints only
/// the first line. Only `'AC Power'` counts as mains: `'Battery Power'` and `'UPS Power'` both
/// mean the wall socket is not feeding the machine. `None` if the text has neither line.
pub fn parse_pmset_batt(text: &str) -> Option<PowerSnapshot> {
    let source = text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("Now drawing from '")?;
        rest.split('\'').next()
    });
    let battery = text
        .lines()
        .find(|line| line.contains("-InternalBattery-"))
        .and_then(parse_pmset_battery_line);
    let on_ac = match (source, battery) {
        (Some(source), _) => source == "AC Power",
        // No source line (not seen in real output, but cheap to survive): the battery's own
        // state still tells whether something feeds it.
        (None, Some(battery)) => battery.state != ChargeState::Discharging,
        (None, None) => return None,
    };
    Some(PowerSnapshot { on_ac, battery })
}

/// ` -InternalBattery-0 (id=…)\t80%; AC attached; not charging present: true`: the level is the
/// last word before the first `;` (the separator before it is a TAB or spaces, and the `(id=…)`
/// part is optional), the state is the second `;` field.
fn parse_pmset_battery_line(line: &str) -> Option<Battery> {
    let mut fields = line.split(';');
    let level = fields.next()?.split_whitespace().last()?;
    let percent = level.strip_suffix('%')?.parse::<u32>().ok()?.min(100);
    let state = match fields.next().map(str::trim) {
        // "finishing charge" is pmset's word for the slow last percent.
        Some("charging") | Some("finishing charge") => ChargeState::Charging,
        Some("discharging") => ChargeState::Discharging,
        Some("charged") => ChargeState::Full,
        // Followed by "not charging": on the charger, held (battery health management).
        Some("AC attached") => ChargeState::NotCharging,
        _ => ChargeState::Unknown,
    };
    Some(Battery {
        percent: percent as u8,
        state,
    })
}

// ---------------------------------------------------------------------------------------------
// macOS: ioreg AppleClamshellState
// ---------------------------------------------------------------------------------------------

/// Finds `"AppleClamshellState" = Yes|No` in `ioreg -r -k AppleClamshellState -d 4` output
/// (`Yes` = closed). `None` when the key is absent, which is what a Mac without a lid prints.
///
/// Only the exact key counts: the same dump has `"AppleClamshellCausesSleep" = Yes`, which says
/// whether closing the lid sleeps the machine, not whether it is closed.
pub fn parse_ioreg_clamshell(text: &str) -> Option<bool> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        // Lines look like `  |   "Key" = Value`; deeper nodes have more `| ` columns.
        let key = key
            .trim_start_matches(|c: char| c == '|' || c.is_whitespace())
            .trim_end();
        if key != "\"AppleClamshellState\"" {
            return None;
        }
        match value.trim() {
            "Yes" => Some(true),
            "No" => Some(false),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::power::tests::snapshot;

    // --- pmset: every recorded fixture --------------------------------------------------------

    #[test]
    fn pmset_fixtures_on_battery() {
        use ChargeState::Discharging;
        let cases = [
            (
                include_str!(
                    "../../../tests/fixtures/macos_pmset_batt_battery_discharging_estimate_elcapitan.txt"
                ),
                89,
            ),
            (
                include_str!(
                    "../../../tests/fixtures/macos_pmset_batt_battery_discharging_noestimate_elcapitan.txt"
                ),
                90,
            ),
            (
                include_str!(
                    "../../../tests/fixtures/macos_pmset_batt_battery_discharging_with_id_2019.txt"
                ),
                95,
            ),
        ];
        for (text, percent) in cases {
            assert_eq!(
                parse_pmset_batt(text),
                snapshot(false, Some((percent, Discharging))),
                "{text}"
            );
        }
    }

    #[test]
    fn pmset_fixtures_on_ac() {
        use ChargeState::{Charging, NotCharging};
        let cases = [
            (
                include_str!(
                    "../../../tests/fixtures/macos_pmset_batt_ac_attached_not_charging_2015_nopresent.txt"
                ),
                2,
                NotCharging,
            ),
            (
                include_str!(
                    "../../../tests/fixtures/macos_pmset_batt_ac_attached_not_charging_bigsur_80pct.txt"
                ),
                80,
                NotCharging,
            ),
            (
                include_str!(
                    "../../../tests/fixtures/macos_pmset_batt_ac_attached_not_charging_elcapitan.txt"
                ),
                88,
                NotCharging,
            ),
            (
                include_str!(
                    "../../../tests/fixtures/macos_pmset_batt_ac_charging_estimate_2016_spaces.txt"
                ),
                84,
                Charging,
            ),
            (
                include_str!(
                    "../../../tests/fixtures/macos_pmset_batt_ac_charging_estimate_elcapitan.txt"
                ),
                91,
                Charging,
            ),
            (
                include_str!(
                    "../../../tests/fixtures/macos_pmset_batt_ac_charging_noestimate_elcapitan.txt"
                ),
                90,
                Charging,
            ),
        ];
        for (text, percent, state) in cases {
            assert_eq!(
                parse_pmset_batt(text),
                snapshot(true, Some((percent, state))),
                "{text}"
            );
        }
    }

    #[test]
    fn pmset_fixture_desktop_without_battery() {
        let text =
            include_str!("../../../tests/fixtures/macos_pmset_batt_desktop_no_battery_imac.txt");
        assert_eq!(parse_pmset_batt(text), snapshot(true, None));
        // The README says it is unknown whether the real output ends with a newline.
        assert_eq!(parse_pmset_batt(text.trim_end()), snapshot(true, None));
    }

    #[test]
    fn pmset_constructed_lines_for_states_without_a_fixture() {
        // Constructed in the recorded format: no fixture shows "charged", "finishing charge",
        // 'UPS Power' or an unknown state word.
        let charged = "Now drawing from 'AC Power'\n -InternalBattery-0 (id=1)\t100%; charged; 0:00 remaining present: true\n";
        assert_eq!(
            parse_pmset_batt(charged),
            snapshot(true, Some((100, ChargeState::Full)))
        );
        let finishing = "Now drawing from 'AC Power'\n -InternalBattery-0 (id=1)\t99%; finishing charge; 0:05 remaining present: true\n";
        assert_eq!(
            parse_pmset_batt(finishing),
            snapshot(true, Some((99, ChargeState::Charging)))
        );
        let ups = "Now drawing from 'UPS Power'\n";
        assert_eq!(parse_pmset_batt(ups), snapshot(false, None));
        let odd =
            "Now drawing from 'AC Power'\n -InternalBattery-0\t50%; something new; present: true\n";
        assert_eq!(
            parse_pmset_batt(odd),
            snapshot(true, Some((50, ChargeState::Unknown)))
        );
    }

    #[test]
    fn pmset_garbage_gives_none() {
        assert_eq!(parse_pmset_batt(""), None);
        assert_eq!(parse_pmset_batt("pmset: command not found\n"), None);
        // A battery line without a source line still says enough.
        assert_eq!(
            parse_pmset_batt(" -InternalBattery-0\t40%; discharging; 1:00 remaining\n"),
            snapshot(false, Some((40, ChargeState::Discharging)))
        );
    }

    // --- ioreg clamshell ----------------------------------------------------------------------

    #[test]
    fn ioreg_partial_fixtures_lack_the_state_line_and_give_none() {
        // Both real dumps were cut before the `"AppleClamshellState"` line (fixtures README §1),
        // and both contain the look-alike key `"AppleClamshellCausesSleep" = Yes|No`, which must
        // not be taken for the state.
        for text in [
            include_str!(
                "../../../tests/fixtures/macos_ioreg_clamshell_mbp_highsierra_lidopen_PARTIAL.txt"
            ),
            include_str!(
                "../../../tests/fixtures/macos_ioreg_clamshell_mbp_2022_sleep15_PARTIAL.txt"
            ),
        ] {
            assert!(text.contains("\"AppleClamshellCausesSleep\" = "));
            assert_eq!(parse_ioreg_clamshell(text), None);
        }
    }

    #[test]
    fn ioreg_constructed_state_lines() {
        // Constructed: no recorded dump with the state line was found. The format is the
        // documented `  |   "Key" = Value` of the real dumps above.
        assert_eq!(
            parse_ioreg_clamshell("  |   \"AppleClamshellState\" = Yes"),
            Some(true)
        );
        assert_eq!(
            parse_ioreg_clamshell("  |   \"AppleClamshellState\" = No\n"),
            Some(false)
        );
        // The real partial dump with the constructed line appended where it belongs.
        let dump = format!(
            "{}  |   \"AppleClamshellState\" = Yes\n  | }}\n",
            include_str!(
                "../../../tests/fixtures/macos_ioreg_clamshell_mbp_2022_sleep15_PARTIAL.txt"
            )
        );
        assert_eq!(parse_ioreg_clamshell(&dump), Some(true));
        assert_eq!(parse_ioreg_clamshell(""), None);
    }
}
