//! The vocabulary of the domain: the closed sets an appeal is described with.
//!
//! In the database these are PostgreSQL enums with Russian labels (what a supervisor sees in
//! psql); in JSON they are camelCase English names; [`label`](AppealStatus::label) gives the
//! Russian word for the screen.

use serde::{Deserialize, Serialize};

macro_rules! db_enum {
    ($(#[$m:meta])* $name:ident, $pg:literal { $($(#[$vm:meta])* $variant:ident = $label:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
        #[sqlx(type_name = $pg)]
        #[serde(rename_all = "camelCase")]
        pub enum $name {
            $($(#[$vm])* #[sqlx(rename = $label)] $variant),+
        }

        impl $name {
            /// Every value, in the order the database declares them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The Russian word shown to people (and stored in the database).
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Parses the Russian word, as written in CSV files and shown on screen.
            pub fn from_label(s: &str) -> Option<Self> {
                let s = s.trim().to_lowercase();
                Self::ALL.iter().copied().find(|v| v.label().to_lowercase() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

db_enum!(
    /// What kind of matter an appeal is; comes from its kind.
    AppealType, "appeal_type" {
        /// An accident: something is broken and hurting people or property now.
        Accident = "авария",
        /// A complaint about service or about an executor.
        Complaint = "жалоба",
        /// A request for information.
        Inquiry = "справка",
        /// A request for routine work.
        Request = "заявка",
    }
);

db_enum!(
    /// How urgent an appeal is.
    Priority, "appeal_priority" {
        /// Low.
        Low = "низкий",
        /// Medium.
        Medium = "средний",
        /// Critical.
        Critical = "критический",
    }
);

db_enum!(
    /// Where an appeal is in its life (docs/architecture.md, «Statuses»).
    AppealStatus, "appeal_status" {
        /// Registered, nobody assigned yet.
        New = "новый",
        /// An executor is assigned but not yet told.
        Assigned = "назначено",
        /// The executor was called and took the work.
        InWork = "в работе",
        /// The executor reports the work done.
        Done = "отработано",
        /// A supervisor checked and closed it.
        Closed = "закрыто",
        /// Registered by mistake or withdrawn.
        Cancelled = "отменено",
    }
);

impl AppealStatus {
    /// Statuses of appeals that still need someone to act.
    pub const LIVE: &'static [AppealStatus] = &[Self::New, Self::Assigned, Self::InWork];

    /// Whether the appeal still needs someone to act.
    pub fn is_live(self) -> bool {
        Self::LIVE.contains(&self)
    }
}

db_enum!(
    /// How the appeal reached the center.
    Channel, "appeal_channel" {
        /// A phone call.
        Phone = "телефон",
        /// An e-mail.
        Email = "e-mail",
        /// A paper letter.
        Letter = "письмо",
        /// The website form.
        Website = "сайт",
        /// The applicant came in person.
        WalkIn = "личный приём",
    }
);

impl Channel {
    /// Channels whose appeals may come without a phone or an e-mail, naming the applicant and
    /// a postal address instead (the database's `dialog_channel_allows_no_identifier`).
    pub const WITHOUT_IDENTIFIER: &'static [Channel] = &[Self::Letter, Self::WalkIn];
}

db_enum!(
    /// What a member of staff does; maps onto the group role `dialog_<role>`.
    StaffRole, "staff_role" {
        /// Takes calls and works appeals.
        Operator = "operator",
        /// An operator who also closes, reopens, shares templates and reads reports.
        Supervisor = "supervisor",
        /// A management company's representative: reads their own organization only.
        Manager = "manager",
        /// Looks after people and directories.
        Admin = "admin",
    }
);

impl StaffRole {
    /// The Russian title of the role.
    pub fn title(self) -> &'static str {
        match self {
            Self::Operator => "диспетчер",
            Self::Supervisor => "старший диспетчер",
            Self::Manager => "представитель УК",
            Self::Admin => "администратор",
        }
    }
}

db_enum!(
    /// Which way a call went.
    CallDirection, "call_direction" {
        /// The center was called.
        Incoming = "входящий",
        /// The center called out.
        Outgoing = "исходящий",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for s in AppealStatus::ALL {
            assert_eq!(AppealStatus::from_label(s.label()), Some(*s));
        }
        assert_eq!(AppealType::from_label(" Авария "), Some(AppealType::Accident));
        assert_eq!(Priority::from_label("высокий"), None);
    }

    #[test]
    fn json_names_are_camel_case() {
        assert_eq!(
            serde_json::to_string(&AppealStatus::InWork).ok().as_deref(),
            Some("\"inWork\"")
        );
    }
}

/// The Russian words of every closed set, for the UI: written next to the generated types
/// (`ui/src/generated/labels.ts`) by `cargo test -p dialog-core --features ts export_bindings`,
/// so that the words shown are the ones the database stores, and live statuses are the same
/// set everywhere.
#[cfg(all(test, feature = "ts"))]
mod labels {
    use super::*;

    fn record<T: Serialize + Copy>(name: &str, ty: &str, all: &[T], label: impl Fn(T) -> &'static str) -> String {
        let mut s = format!("export const {name}: Record<{ty}, string> = {{\n");
        for v in all {
            let key = serde_json::to_string(v).unwrap_or_default();
            s.push_str(&format!("  {}: {:?},\n", key.trim_matches('"'), label(*v)));
        }
        s.push_str("};\n");
        s
    }

    #[test]
    fn export_bindings_labels() -> std::io::Result<()> {
        let dir = std::env::var("TS_RS_EXPORT_DIR").unwrap_or_else(|_| "bindings".into());
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir);
        let live: Vec<String> = AppealStatus::LIVE
            .iter()
            .map(|s| serde_json::to_string(s).unwrap_or_default())
            .collect();
        let text = format!(
            "// The Russian words of Dialog's closed sets, as the database stores them. Generated from\n\
             // crates/core/src/model.rs by `cargo test -p dialog-core --features ts export_bindings`.\n\
             import type {{ AppealStatus }} from \"./AppealStatus\";\n\
             import type {{ AppealType }} from \"./AppealType\";\n\
             import type {{ CallDirection }} from \"./CallDirection\";\n\
             import type {{ Channel }} from \"./Channel\";\n\
             import type {{ Priority }} from \"./Priority\";\n\
             import type {{ StaffRole }} from \"./StaffRole\";\n\n{}\n{}\n{}\n{}\n{}\n{}\n\
             /** Statuses of appeals that still need someone to act. */\n\
             export const LIVE_STATUSES: readonly AppealStatus[] = [{}];\n\n\
             /** What may be dialled (spaces, brackets and dashes aside). */\n\
             export const DIALABLE = new RegExp({:?});\n\n\
             /** Channels whose appeals may come without a phone or an e-mail (with a name and an address). */\n\
             export const CHANNELS_WITHOUT_IDENTIFIER: readonly Channel[] = [{}];\n",
            record("statusLabel", "AppealStatus", AppealStatus::ALL, AppealStatus::label),
            record("typeLabel", "AppealType", AppealType::ALL, AppealType::label),
            record("priorityLabel", "Priority", Priority::ALL, Priority::label),
            record("channelLabel", "Channel", Channel::ALL, Channel::label),
            record("roleLabel", "StaffRole", StaffRole::ALL, StaffRole::title),
            record(
                "directionLabel",
                "CallDirection",
                CallDirection::ALL,
                CallDirection::label
            ),
            live.join(", "),
            dialog_sip::number::DIALABLE_PATTERN,
            Channel::WITHOUT_IDENTIFIER
                .iter()
                .map(|c| serde_json::to_string(c).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        );
        std::fs::write(root.join("labels.ts"), text)
    }
}
