//! Account configuration.

use std::fmt;

/// What the user agent needs to know about its account.
#[derive(Clone)]
pub struct UaConfig {
    /// Extension (user part of the address of record), e.g. `"2001"`.
    pub aor_user: String,
    /// SIP domain and digest realm host, e.g. `"127.0.0.1"` or `"pbx.example.ru"`.
    pub domain: String,
    /// Digest username when it differs from `aor_user`.
    pub auth_user: Option<String>,
    /// Digest password.
    pub password: String,
    /// Display name put in From.
    pub display_name: Option<String>,
    /// `wss://` transport: Via `WSS` and Contact `transport=wss` (URIs stay `sip:`).
    pub secure: bool,
    /// Requested registration lifetime in seconds.
    pub register_expires: u32,
    /// User-Agent header value.
    pub user_agent: String,
}

impl Default for UaConfig {
    fn default() -> Self {
        Self {
            aor_user: String::new(),
            domain: String::new(),
            auth_user: None,
            password: String::new(),
            display_name: None,
            secure: false,
            register_expires: 600,
            user_agent: concat!("Dialog/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl fmt::Debug for UaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UaConfig")
            .field("aor_user", &self.aor_user)
            .field("domain", &self.domain)
            .field("auth_user", &self.auth_user)
            .field("password", &"***")
            .field("display_name", &self.display_name)
            .field("secure", &self.secure)
            .field("register_expires", &self.register_expires)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}
