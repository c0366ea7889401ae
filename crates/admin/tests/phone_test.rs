//! `dialog-admin phone-test` through the telephony rig (`scripts/sip-rig.sh`): the exit code
//! says whether the call was answered and audio came back, calling out and answering.

#[path = "../../phone/tests/common/mod.rs"]
mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{Phone, Rig, Wav};
use tokio::process::Command;

fn phone_test(rig: &Rig, user: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dialog-admin"));
    c.args([
        "phone-test",
        "--server",
        &rig.ws,
        "--user",
        user,
        "--password-env",
        "SIP_PW",
        "--wait",
        "15",
    ])
    .args(args)
    .env("SIP_PW", Rig::password(user))
    .env_remove("DATABASE_URL")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    c
}

#[tokio::test]
async fn calls_out_plays_a_file_and_records_the_far_end() {
    let Some(rig) = Rig::from_env() else { return };
    let _phones = rig.phones().await.expect("the rig's phones");
    let dir = std::env::temp_dir().join(format!("phone-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (play, back) = (dir.join("play.wav"), dir.join("back.wav"));
    // A 600 Hz tone as an installer would play it: 8 kHz, 16-bit mono WAV.
    let status = std::process::Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(&play)
        .args(["synth", "6", "sine", "600"])
        .status()
        .expect("sox");
    assert!(status.success());

    let out = phone_test(&rig, "2009", &["--call", "+79990001001", "--seconds", "3"])
        .arg("--play")
        .arg(&play)
        .arg("--record")
        .arg(&back)
        .output()
        .await
        .expect("dialog-admin runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("звук от собеседника: есть"), "{text}");
    let heard = Wav::read(&back).expect("the recording is a WAV file");
    assert!(heard.duration() >= Duration::from_secs(2), "{:?}", heard.duration());
    assert!(heard.tone_ratio_after(Duration::from_millis(500), f64::from(rig.tone_hz)) > 0.5);
    let theirs = rig
        .wait_for_recording(Phone::Auto, Duration::from_secs(10))
        .await
        .expect("baresip recorded");
    let got = Wav::read(&theirs.received).expect("wav");
    assert!(
        got.tone_ratio_after(Duration::from_millis(500), 600.0) > 0.5,
        "the far end hears the file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn fails_with_a_busy_number_or_a_wrong_password() {
    let Some(rig) = Rig::from_env() else { return };
    let _phones = rig.phones().await.expect("the rig's phones");
    let busy = phone_test(&rig, "2009", &["--call", &rig.busy])
        .output()
        .await
        .expect("runs");
    assert!(!busy.status.success());
    assert!(
        String::from_utf8_lossy(&busy.stdout).contains("занято"),
        "{}",
        String::from_utf8_lossy(&busy.stdout)
    );

    let mut wrong = phone_test(&rig, "2010", &["--call", "1001"]);
    wrong.env("SIP_PW", "not-the-password");
    let wrong = wrong.output().await.expect("runs");
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stdout).contains("регистрация: нет"));
}

#[tokio::test]
async fn answers_an_incoming_call() {
    let Some(rig) = Rig::from_env() else { return };
    let mut phones = rig.phones().await.expect("the rig's phones");
    let child = phone_test(&rig, "2010", &["--answer", "--seconds", "2"])
        .spawn()
        .expect("runs");
    // Dial once the line is registered (Kamailio answers 480 before that): retry for a while.
    let mut answered = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        phones.auto.dial(&rig.aor("2010")).await.expect("dial");
        if phones
            .auto
            .wait_for_event(common::rig::CALL_ESTABLISHED, Duration::from_secs(3))
            .await
            .is_ok()
        {
            answered = true;
            break;
        }
    }
    assert!(answered, "phone-test --answer took the call");
    let out = child.wait_with_output().await.expect("finishes");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn against_asterisk_audio_comes_back_and_the_webrtc_stack_is_in_the_log() {
    let Some(pbx) = common::Asterisk::from_env() else {
        return;
    };
    let _pbx = pbx.exclusive().await;
    let out = Command::new(env!("CARGO_BIN_EXE_dialog-admin"))
        .args(["phone-test", "--server", &pbx.wss, "--ca"])
        .arg(&pbx.ca)
        .args([
            "--user",
            "2002",
            "--password-env",
            "SIP_PW",
            "--call",
            "600",
            "--seconds",
            "2",
        ])
        .args(["--wait", "15"])
        .env("SIP_PW", common::Asterisk::password("2002"))
        // The WebRTC stack logs through `log`: its ICE and DTLS records must reach the log.
        .env("DIALOG_LOG", "info")
        .env_remove("DATABASE_URL")
        .output()
        .await
        .expect("dialog-admin runs");
    let (text, log) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{text}{log}");
    assert!(text.contains("звук от собеседника: есть"), "{text}");
    assert!(text.contains("звонок принят, звук идёт в обе стороны"), "{text}");
    assert!(
        log.contains("webrtc_ice") && log.contains("Setting new connection state: Connected"),
        "ICE's own records are in the log:\n{log}"
    );
}
