//! Two media sessions talking through a real rtpengine (WebRTC on both legs), driven over its
//! ng control protocol the way Kamailio's rtpengine module does: rtpengine offers `actpass`
//! to the callee and answers `active` to the caller, with or without `a=mid`.
//!
//! Needs the `rtpengine` binary (Debian `rtpengine-daemon`); skipped when it is absent.
//! `cargo test -p dialog-phone --test media_rtpengine -- --ignored --nocapture`

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dialog_phone::media::{
    dominant_frequency, CaptureHandle, CaptureSink, Codec, IceState, MediaOptions, MediaSession, ToneSource,
    SAMPLE_RATE,
};

const NG: &str = "127.0.0.1:22231";

#[derive(Debug, Clone)]
enum B {
    Str(Vec<u8>),
    Int(i64),
    List(Vec<B>),
    Dict(BTreeMap<Vec<u8>, B>),
}

fn s(v: &str) -> B {
    B::Str(v.as_bytes().to_vec())
}

fn encode(b: &B, out: &mut Vec<u8>) {
    match b {
        B::Str(v) => {
            out.extend_from_slice(format!("{}:", v.len()).as_bytes());
            out.extend_from_slice(v);
        }
        B::Int(i) => out.extend_from_slice(format!("i{i}e").as_bytes()),
        B::List(l) => {
            out.push(b'l');
            l.iter().for_each(|x| encode(x, out));
            out.push(b'e');
        }
        B::Dict(d) => {
            out.push(b'd');
            for (k, v) in d {
                encode(&B::Str(k.clone()), out);
                encode(v, out);
            }
            out.push(b'e');
        }
    }
}

fn decode(input: &[u8], at: &mut usize) -> Option<B> {
    match *input.get(*at)? {
        b'i' => {
            let end = input[*at..].iter().position(|&c| c == b'e')? + *at;
            let n = std::str::from_utf8(&input[*at + 1..end]).ok()?.parse().ok()?;
            *at = end + 1;
            Some(B::Int(n))
        }
        b'l' => {
            *at += 1;
            let mut l = Vec::new();
            while *input.get(*at)? != b'e' {
                l.push(decode(input, at)?);
            }
            *at += 1;
            Some(B::List(l))
        }
        b'd' => {
            *at += 1;
            let mut d = BTreeMap::new();
            while *input.get(*at)? != b'e' {
                let B::Str(k) = decode(input, at)? else { return None };
                d.insert(k, decode(input, at)?);
            }
            *at += 1;
            Some(B::Dict(d))
        }
        _ => {
            let colon = input[*at..].iter().position(|&c| c == b':')? + *at;
            let len: usize = std::str::from_utf8(&input[*at..colon]).ok()?.parse().ok()?;
            let v = input.get(colon + 1..colon + 1 + len)?.to_vec();
            *at = colon + 1 + len;
            Some(B::Str(v))
        }
    }
}

fn ng(sock: &UdpSocket, msg: Vec<(&str, B)>) -> BTreeMap<Vec<u8>, B> {
    let dict = B::Dict(msg.into_iter().map(|(k, v)| (k.as_bytes().to_vec(), v)).collect());
    let cookie = format!("{:08x}", rand_cookie());
    let mut out = format!("{cookie} ").into_bytes();
    encode(&dict, &mut out);
    sock.send(&out).expect("send ng");
    let mut buf = vec![0u8; 65536];
    let n = sock.recv(&mut buf).expect("ng reply");
    let reply = &buf[..n];
    let space = reply.iter().position(|&c| c == b' ').expect("cookie");
    let mut at = space + 1;
    match decode(reply, &mut at) {
        Some(B::Dict(d)) => d,
        other => panic!("bad ng reply {other:?}"),
    }
}

fn rand_cookie() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

fn text(d: &BTreeMap<Vec<u8>, B>, key: &str) -> String {
    match d.get(key.as_bytes()) {
        Some(B::Str(v)) => String::from_utf8_lossy(v).into_owned(),
        other => panic!("no {key} in reply: {other:?} / {d:?}"),
    }
}

struct Rtpengine(Child);

impl Drop for Rtpengine {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_rtpengine() -> Option<(Rtpengine, UdpSocket)> {
    let conf = std::env::temp_dir().join(format!("dialog-rtpengine-{}.conf", std::process::id()));
    std::fs::write(&conf, "[rtpengine]\n").ok()?;
    let child = Command::new("rtpengine")
        .args([
            &format!("--config-file={}", conf.display()),
            "--table=-1",
            "--interface=127.0.0.1",
            &format!("--listen-ng={NG}"),
            "--port-min=32000",
            "--port-max=32199",
            "--foreground",
            "--log-stderr",
            "--log-level=5",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let guard = Rtpengine(child);
    let sock = UdpSocket::bind("127.0.0.1:0").ok()?;
    sock.connect(NG).ok()?;
    sock.set_read_timeout(Some(Duration::from_millis(200))).ok()?;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        let mut out = b"1 ".to_vec();
        encode(
            &B::Dict([(b"command".to_vec(), s("ping"))].into_iter().collect()),
            &mut out,
        );
        let _ = sock.send(&out);
        let mut buf = [0u8; 256];
        if let Ok(n) = sock.recv(&mut buf) {
            if String::from_utf8_lossy(&buf[..n]).contains("pong") {
                sock.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
                return Some((guard, sock));
            }
        }
    }
    None
}

fn webrtc_flags(generate_mid: bool) -> Vec<(&'static str, B)> {
    let mut flags = vec![s("trust-address")];
    if generate_mid {
        flags.push(s("generate-mid"));
    }
    vec![
        ("ICE", s("force")),
        ("transport-protocol", s("UDP/TLS/RTP/SAVPF")),
        ("rtcp-mux", B::List(vec![s("offer"), s("accept")])),
        ("SDES", B::List(vec![s("off")])),
        ("replace", B::List(vec![s("origin"), s("session-connection")])),
        ("flags", B::List(flags)),
    ]
}

async fn side(codecs: &[Codec], tone: f32) -> (MediaSession, CaptureHandle) {
    let sink = CaptureSink::new();
    let heard = sink.handle();
    let opts = MediaOptions {
        codecs: codecs.to_vec(),
        loopback_only: true,
        ..Default::default()
    };
    let session = MediaSession::new(opts, Box::new(ToneSource::new(tone, 8000)), Box::new(sink))
        .await
        .expect("session");
    (session, heard)
}

async fn call_through(sock: &UdpSocket, label: &str, codecs: &[Codec], generate_mid: bool) {
    let call_id = format!("{label}-{}", rand_cookie());
    let (a, heard_a) = side(codecs, 1000.0).await;
    let (b, heard_b) = side(codecs, 700.0).await;
    let offer = a.create_offer().await.expect("offer");
    let mut msg = vec![
        ("command", s("offer")),
        ("call-id", s(&call_id)),
        ("from-tag", s("caller")),
        ("sdp", s(&offer)),
    ];
    msg.extend(webrtc_flags(generate_mid));
    let reply = ng(sock, msg);
    let offer_b = text(&reply, "sdp");
    if std::env::var_os("SHOW_SDP").is_some() {
        println!("[{label}] rtpengine's offer to B:\n{offer_b}");
    }
    let answer_b = b.accept_offer(&offer_b).await.expect("B answers");
    let mut msg = vec![
        ("command", s("answer")),
        ("call-id", s(&call_id)),
        ("from-tag", s("caller")),
        ("to-tag", s("callee")),
        ("sdp", s(&answer_b)),
    ];
    msg.extend(webrtc_flags(generate_mid));
    let reply = ng(sock, msg);
    let answer_a = text(&reply, "sdp");
    if std::env::var_os("SHOW_SDP").is_some() {
        println!("[{label}] rtpengine's answer to A:\n{answer_a}");
    }
    let answered = Instant::now();
    a.set_answer(&answer_a).await.expect("A takes the answer");
    let start = Instant::now();
    let (mut ice_a, mut ice_b) = (None, None);
    while a.stats().first_audio_at.is_none() || b.stats().first_audio_at.is_none() {
        if ice_a.is_none() && a.stats().ice == IceState::Connected {
            ice_a = Some(answered.elapsed());
        }
        if ice_b.is_none() && b.stats().ice == IceState::Connected {
            ice_b = Some(answered.elapsed());
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "[{label}] no audio: A {:?} B {:?}",
            a.stats(),
            b.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let since = |t: Option<Instant>| t.map(|t| t.saturating_duration_since(answered));
    println!("[{label}] from set_answer: ICE connected A {ice_a:?} B {ice_b:?}");
    println!(
        "[{label}] from set_answer: A connected {:?}, A first audio {:?}, B connected {:?}, B first audio {:?}",
        since(a.stats().connected_at),
        since(a.stats().first_audio_at),
        since(b.stats().connected_at),
        since(b.stats().first_audio_at)
    );
    a.send_dtmf('5').expect("dtmf");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let fa = dominant_frequency(&heard_a.last(SAMPLE_RATE as usize / 2), SAMPLE_RATE);
    let fb = dominant_frequency(&heard_b.last(SAMPLE_RATE as usize / 2), SAMPLE_RATE);
    println!(
        "[{label}] A hears {fa:?}, B hears {fb:?}, B got DTMF {:?}",
        b.stats().dtmf_received
    );
    assert!(fa.is_some_and(|f| (f - 700.0).abs() < 5.0), "[{label}] A hears {fa:?}");
    assert!(fb.is_some_and(|f| (f - 1000.0).abs() < 5.0), "[{label}] B hears {fb:?}");
    assert_eq!(b.stats().dtmf_received, "5", "[{label}] DTMF through rtpengine");
    a.close().await.expect("close A");
    b.close().await.expect("close B");
    let _ = ng(
        sock,
        vec![
            ("command", s("delete")),
            ("call-id", s(&call_id)),
            ("from-tag", s("caller")),
        ],
    );
}

fn plain_flags() -> Vec<(&'static str, B)> {
    vec![
        ("ICE", s("remove")),
        ("transport-protocol", s("RTP/AVP")),
        ("rtcp-mux", B::List(vec![s("demux")])),
        ("replace", B::List(vec![s("origin"), s("session-connection")])),
        ("flags", B::List(vec![s("trust-address")])),
    ]
}

fn ulaw_encode(sample: i16) -> u8 {
    let mut x = i32::from(sample);
    let sign = if x < 0 {
        x = -x;
        0x80
    } else {
        0
    };
    x = x.min(32_635) + 0x84;
    let exponent = 7 - ((x >> 7) as u8).leading_zeros() as i32;
    let mantissa = (x >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

fn ulaw_decode(u: u8) -> i16 {
    let u = !u;
    let exponent = (u >> 4) & 0x07;
    let x = (((i32::from(u & 0x0F) << 3) + 0x84) << exponent) - 0x84;
    (if u & 0x80 != 0 { -x } else { x }) as i16
}

/// A plain RTP phone (like baresip behind rtpengine): PCMU 700 Hz out, collects what it hears.
async fn plain_phone(sock: tokio::net::UdpSocket, peer: std::net::SocketAddr, seconds: u64) -> (Vec<i16>, Vec<u8>) {
    let mut heard = Vec::new();
    let mut events = Vec::new();
    let mut interval = tokio::time::interval(Duration::from_millis(20));
    let (mut seq, mut ts, mut phase) = (1u16, 1000u32, 0f32);
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut buf = [0u8; 2048];
    while Instant::now() < end {
        interval.tick().await;
        let mut packet = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78];
        packet[2..4].copy_from_slice(&seq.to_be_bytes());
        packet[4..8].copy_from_slice(&ts.to_be_bytes());
        for _ in 0..160 {
            packet.push(ulaw_encode((8000.0 * phase.sin()) as i16));
            phase += std::f32::consts::TAU * 700.0 / 8000.0;
        }
        let _ = sock.send_to(&packet, peer).await;
        (seq, ts) = (seq.wrapping_add(1), ts.wrapping_add(160));
        while let Ok((n, _)) = sock.try_recv_from(&mut buf) {
            if n > 12 && buf[1] & 0x7F == 0 {
                heard.extend(buf[12..n].iter().map(|&b| ulaw_decode(b)));
            } else if n >= 16 && buf[1] & 0x7F == 101 {
                events.push(buf[12]);
            }
        }
    }
    (heard, events)
}

fn media_address(sdp: &str) -> std::net::SocketAddr {
    let ip = sdp
        .lines()
        .find_map(|l| l.trim().strip_prefix("c=IN IP4 "))
        .expect("c=");
    let port = sdp
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|m| m.split(' ').next())
        .expect("m=");
    format!("{ip}:{port}").parse().expect("address")
}

fn plain_sdp(port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
    )
}

/// The rig's shape: a plain RTP phone on one side of rtpengine, us (WebRTC) on the other;
/// `we_call` chooses who offers.
async fn plain_call(sock: &UdpSocket, we_call: bool) {
    let label = if we_call { "we call plain" } else { "plain calls us" };
    let call_id = format!("plain-{}", rand_cookie());
    let (us, heard) = side(&[Codec::Opus, Codec::Pcmu], 1000.0).await;
    let phone = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let port = phone.local_addr().expect("addr").port();
    let (our_sdp_flags, plain_sdp_flags) = (webrtc_flags(true), plain_flags());
    let to_plain = if we_call {
        let offer = us.create_offer().await.expect("offer");
        let mut msg = vec![
            ("command", s("offer")),
            ("call-id", s(&call_id)),
            ("from-tag", s("us")),
            ("sdp", s(&offer)),
        ];
        msg.extend(plain_sdp_flags);
        let to_plain = text(&ng(sock, msg), "sdp");
        let mut msg = vec![
            ("command", s("answer")),
            ("call-id", s(&call_id)),
            ("from-tag", s("us")),
            ("to-tag", s("plain")),
            ("sdp", s(&plain_sdp(port))),
        ];
        msg.extend(our_sdp_flags);
        let to_us = text(&ng(sock, msg), "sdp");
        if std::env::var_os("SHOW_SDP").is_some() {
            println!("[{label}] rtpengine's answer to us:\n{to_us}");
        }
        us.set_answer(&to_us).await.expect("set_answer");
        to_plain
    } else {
        let mut msg = vec![
            ("command", s("offer")),
            ("call-id", s(&call_id)),
            ("from-tag", s("plain")),
            ("sdp", s(&plain_sdp(port))),
        ];
        msg.extend(our_sdp_flags);
        let to_us = text(&ng(sock, msg), "sdp");
        if std::env::var_os("SHOW_SDP").is_some() {
            println!("[{label}] rtpengine's offer to us:\n{to_us}");
        }
        let answer = us.accept_offer(&to_us).await.expect("accept_offer");
        let mut msg = vec![
            ("command", s("answer")),
            ("call-id", s(&call_id)),
            ("from-tag", s("plain")),
            ("to-tag", s("us")),
            ("sdp", s(&answer)),
        ];
        msg.extend(plain_sdp_flags);
        text(&ng(sock, msg), "sdp")
    };
    let started = Instant::now();
    let phone_task = tokio::spawn(plain_phone(phone, media_address(&to_plain), 3));
    while us.stats().first_audio_at.is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "[{label}] no audio: {:?}",
            us.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "[{label}] first audio {:?} after the plain phone started",
        started.elapsed()
    );
    us.send_dtmf('9').expect("dtmf");
    let (plain_heard, events) = phone_task.await.expect("plain phone");
    let f_us = dominant_frequency(&heard.last(SAMPLE_RATE as usize / 2), SAMPLE_RATE);
    let tail = &plain_heard[plain_heard.len().saturating_sub(4000)..];
    let f_plain = dominant_frequency(tail, 8000);
    println!(
        "[{label}] codec {:?}: we hear {f_us:?}, the plain phone hears {f_plain:?}",
        us.stats().codec
    );
    assert!(
        f_us.is_some_and(|f| (f - 700.0).abs() < 5.0),
        "[{label}] we hear {f_us:?}"
    );
    assert!(
        f_plain.is_some_and(|f| (f - 1000.0).abs() < 5.0),
        "[{label}] plain hears {f_plain:?}"
    );
    println!("[{label}] the plain phone got {} telephone-event packets", events.len());
    assert!(
        !events.is_empty() && events.iter().all(|&e| e == 9),
        "[{label}] DTMF 9 to the plain phone: {events:?}"
    );
    us.close().await.expect("close");
    let _ = ng(
        sock,
        vec![
            ("command", s("delete")),
            ("call-id", s(&call_id)),
            ("from-tag", s("us")),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the rtpengine binary"]
async fn calls_through_rtpengine() {
    let Some((_rtpengine, sock)) = start_rtpengine() else {
        println!("rtpengine not available; skipped");
        return;
    };
    call_through(&sock, "pcmu-mid", &[Codec::Pcmu], true).await;
    call_through(&sock, "pcmu-no-mid", &[Codec::Pcmu], false).await;
    call_through(&sock, "opus-mid", &[Codec::Opus, Codec::Pcmu], true).await;
    plain_call(&sock, false).await;
    plain_call(&sock, true).await;
}
