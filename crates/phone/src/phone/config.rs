//! What the phone is started with.

use std::path::PathBuf;
use std::sync::Arc;

use dialog_sip::ua::UaConfig;

use super::CallContext;
use crate::media::{AudioSink, AudioSource, MediaOptions};

/// One call's microphone and speaker (or their stand-ins).
pub type AudioPair = (Box<dyn AudioSource>, Box<dyn AudioSink>);

/// Opens the microphone and the speaker (or their stand-ins) for one call.
pub trait AudioFactory: Send + Sync {
    /// The source and the sink of a new call.
    fn open(&self) -> Result<AudioPair, String>;
}

impl<F> AudioFactory for F
where
    F: Fn() -> Result<AudioPair, String> + Send + Sync,
{
    fn open(&self) -> Result<AudioPair, String> {
        self()
    }
}

/// Names an incoming caller by number: see [`PhoneConfig::identify`].
pub type Identify = Arc<dyn Fn(&str) -> CallContext + Send + Sync>;

/// Everything the phone needs to go on the line.
#[derive(Clone)]
pub struct PhoneConfig {
    /// The PBX's WebSocket address: `wss://pbx.example.ru:8089/ws`.
    pub server: String,
    /// The extension (SIP user), e.g. `2001`.
    pub extension: String,
    /// The SIP password.
    pub password: String,
    /// The authentication user when it differs from the extension.
    pub auth_user: Option<String>,
    /// The SIP domain; the server's host when `None`.
    pub domain: Option<String>,
    /// A PEM file with the CA to trust for `wss://`.
    pub ca_file: Option<PathBuf>,
    /// The name shown to the people called.
    pub display_name: Option<String>,
    /// Codecs and ICE servers.
    pub media: MediaOptions,
    /// Microphone and speaker.
    pub audio: Arc<dyn AudioFactory>,
    /// The registration lifetime asked for, in seconds.
    pub register_expires: u32,
    /// Names an incoming caller before the call is first shown (say, an executor found by
    /// number in a directory held in memory). It must answer at once: it runs on the phone's
    /// own thread, between the INVITE and the ringing on the screen.
    pub identify: Option<Identify>,
}

impl std::fmt::Debug for PhoneConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneConfig")
            .field("server", &self.server)
            .field("extension", &self.extension)
            .field("domain", &self.domain)
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

impl PhoneConfig {
    /// A configuration with the defaults: codecs Opus, PCMU, PCMA; registration for 10 minutes.
    pub fn new(server: &str, extension: &str, password: &str, audio: Arc<dyn AudioFactory>) -> Self {
        Self {
            server: server.to_owned(),
            extension: extension.to_owned(),
            password: password.to_owned(),
            auth_user: None,
            domain: None,
            ca_file: None,
            display_name: None,
            media: MediaOptions::default(),
            audio,
            register_expires: 600,
            identify: None,
        }
    }

    fn domain(&self) -> String {
        if let Some(d) = &self.domain {
            return d.clone();
        }
        let rest = self.server.split_once("://").map_or(self.server.as_str(), |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or_default();
        let host = if let Some(v6) = authority.strip_prefix('[') {
            v6.split(']').next().unwrap_or_default()
        } else {
            authority.rsplit_once(':').map_or(authority, |(h, _)| h)
        };
        host.to_owned()
    }
}

impl PhoneConfig {
    /// The user agent's settings.
    pub(crate) fn ua_config(&self) -> UaConfig {
        UaConfig {
            aor_user: self.extension.clone(),
            domain: self.domain(),
            auth_user: self.auth_user.clone(),
            password: self.password.clone(),
            display_name: self.display_name.clone(),
            secure: self.server.starts_with("wss://"),
            register_expires: self.register_expires,
            user_agent: format!("Dialog/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}
