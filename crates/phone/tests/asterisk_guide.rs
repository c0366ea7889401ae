//! The administrators' guide (`docs/telephony.md`) gives exactly the Asterisk configuration
//! the tests run against (`tests/rig/asterisk/`): each file's part between the markers, with
//! the test's addresses, paths and passwords put back to the guide's, is the guide's block
//! under the heading that names that file.

use std::path::{Path, PathBuf};

const BEGIN: &str = "; ---- docs/telephony.md: begin ----\n";
const END: &str = "; ---- docs/telephony.md: end ----";

/// What the guide writes where the tests' templates have a placeholder.
const GUIDE_VALUES: [(&str, &str); 6] = [
    ("@ADDRESS@", "0.0.0.0"),
    ("@WS_PORT@", "8088"),
    ("@WSS_PORT@", "8089"),
    ("@KEYS@", "/etc/asterisk/keys"),
    ("@PASSWORD_2001@", "choose-a-long-password"),
    ("@AMI_SECRET@", "choose-another-long-secret"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The ```ini block after the heading that names `/etc/asterisk/<file>`.
fn guide_block(guide: &str, file: &str) -> Option<String> {
    let heading = format!("`/etc/asterisk/{file}`");
    let at = guide.lines().position(|l| l.starts_with('#') && l.contains(&heading))?;
    let mut lines = guide.lines().skip(at + 1).skip_while(|l| *l != "```ini");
    lines.next()?;
    let block: Vec<&str> = lines.take_while(|l| *l != "```").collect();
    Some(block.join("\n"))
}

/// The marked part of a template, with the guide's values in place of the placeholders.
fn tested_part(template: &str) -> Option<String> {
    let start = template.find(BEGIN)? + BEGIN.len();
    let end = template[start..].find(END)? + start;
    let mut part = template[start..end].trim_end_matches('\n').to_owned();
    for (placeholder, value) in GUIDE_VALUES {
        part = part.replace(placeholder, value);
    }
    Some(part)
}

/// Whether `text` holds an `@NAME@` placeholder (`@trunk` of a dial string is not one).
fn has_placeholder(text: &str) -> bool {
    text.split('@').skip(1).zip(text.split('@').skip(2)).any(|(name, _)| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    })
}

#[test]
fn the_guide_gives_the_configuration_the_tests_run_against() {
    let guide = std::fs::read_to_string(root().join("docs/telephony.md")).expect("docs/telephony.md");
    let dir = root().join("tests/rig/asterisk");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/rig/asterisk") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let template = std::fs::read_to_string(&path).expect("template");
        let Some(tested) = tested_part(&template) else {
            // Asterisk's own settings for the tests (asterisk.conf, modules.conf, logger.conf).
            assert!(
                guide_block(&guide, &name).is_none(),
                "the guide shows {name}, but tests/rig/asterisk/{name} has no marked part"
            );
            continue;
        };
        assert!(
            !has_placeholder(&tested),
            "{name}: a placeholder the guide has no value for: {tested}"
        );
        let block = guide_block(&guide, &name).unwrap_or_else(|| {
            panic!("docs/telephony.md has no ```ini block under a heading naming `/etc/asterisk/{name}`")
        });
        for (n, (ours, theirs)) in tested.lines().zip(block.lines()).enumerate() {
            assert_eq!(
                ours,
                theirs,
                "{name}, line {} of the guide's block differs from the tests'",
                n + 1
            );
        }
        assert_eq!(
            tested.lines().count(),
            block.lines().count(),
            "{name}: the guide's block and the tests' part differ in length"
        );
        checked.push(name);
    }
    checked.sort();
    assert_eq!(
        checked,
        [
            "extensions.conf",
            "http.conf",
            "manager.conf",
            "pjsip.conf",
            "queues.conf",
            "rtp.conf"
        ],
        "every file the guide gives is tested"
    );
}

#[test]
fn a_changed_line_is_noticed() {
    let guide = "## 9. `/etc/asterisk/x.conf`\n\n```ini\n[general]\nbindaddr=0.0.0.0\n```\n";
    let template = format!("; x\n{BEGIN}[general]\nbindaddr=@ADDRESS@\n{END}\n");
    assert_eq!(guide_block(guide, "x.conf"), tested_part(&template));
    let changed = template.replace("bindaddr", "bindport");
    assert_ne!(guide_block(guide, "x.conf"), tested_part(&changed));
    assert!(has_placeholder("bind=@OTHER@"));
    assert!(!has_placeholder("Dial(PJSIP/${EXTEN:1}@trunk,60)"));
}
