//! Asterisk's Manager Interface (AMI): a TCP text protocol of `Key: Value` lines, a blank line
//! closing each message. The bridge logs in with its own account (`manager.conf`: it reads
//! call and agent events and may only ask; it cannot originate or hang up) and asks for what it
//! needs with actions whose answers carry the `ActionID` it gave.

use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// One message: its fields in order. Keys compare without case, as Asterisk's do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message(pub Vec<(String, String)>);

impl Message {
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The event's name, for events.
    pub fn event(&self) -> Option<&str> {
        self.get("Event")
    }

    /// Parses the lines of one message.
    pub fn parse(lines: &[String]) -> Message {
        Message(
            lines
                .iter()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect(),
        )
    }

    /// A message from fields.
    #[cfg(test)]
    pub fn of(fields: &[(&str, &str)]) -> Message {
        Message(fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }
}

/// A logged-in AMI connection.
pub struct Ami {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    next_id: u64,
}

impl Ami {
    /// Connects and logs in; errors say in words what went wrong.
    pub async fn connect(addr: &str, user: &str, secret: &str) -> anyhow::Result<Ami> {
        let stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr))
            .await
            .with_context(|| format!("АТС {addr} не отвечает"))?
            .with_context(|| format!("не удалось подключиться к AMI АТС {addr}"))?;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        let mut ami = Ami {
            reader: BufReader::new(r),
            writer: w,
            next_id: 1,
        };
        let mut greeting = String::new();
        ami.reader.read_line(&mut greeting).await?;
        anyhow::ensure!(
            greeting.starts_with("Asterisk Call Manager"),
            "по адресу {addr} отвечает не AMI Asterisk: {greeting:?}"
        );
        let id = ami
            .send(
                "Login",
                &[("Username", user), ("Secret", secret), ("Events", "call,agent")],
            )
            .await?;
        loop {
            let m = tokio::time::timeout(Duration::from_secs(10), ami.read())
                .await
                .context("АТС не ответила на вход в AMI")??;
            if m.get("ActionID") == Some(id.as_str()) {
                anyhow::ensure!(
                    m.get("Response") == Some("Success"),
                    "АТС не приняла вход в AMI пользователя {user}: {} — проверьте manager.conf и пароль",
                    m.get("Message").unwrap_or("нет объяснения")
                );
                return Ok(ami);
            }
        }
    }

    /// Sends an action; returns its ActionID.
    pub async fn send(&mut self, action: &str, fields: &[(&str, &str)]) -> anyhow::Result<String> {
        let id = format!("dialog-{}", self.next_id);
        self.next_id += 1;
        let mut text = format!("Action: {action}\r\nActionID: {id}\r\n");
        for (k, v) in fields {
            // A value never spans lines.
            let v: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        text.push_str("\r\n");
        self.writer.write_all(text.as_bytes()).await?;
        Ok(id)
    }

    /// The next message (event or response). An error means the connection is gone.
    pub async fn read(&mut self) -> anyhow::Result<Message> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).await?;
            anyhow::ensure!(n > 0, "АТС закрыла соединение AMI");
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if lines.is_empty() {
                    continue;
                }
                return Ok(Message::parse(&lines));
            }
            lines.push(line.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Message;

    #[test]
    fn fields_are_read_without_case_and_values_keep_colons() {
        let m = Message::parse(&[
            "Event: Newchannel".to_owned(),
            "channel: PJSIP/2001-00000001".to_owned(),
            "Uniqueid: 1733456789.12".to_owned(),
            "Value: abc@host:5060".to_owned(),
        ]);
        assert_eq!(m.event(), Some("Newchannel"));
        assert_eq!(m.get("Channel"), Some("PJSIP/2001-00000001"));
        assert_eq!(m.get("value"), Some("abc@host:5060"));
        assert_eq!(m.get("Missing"), None);
    }
}
