//! Errors a person can meet, each with a message that says what to do next.
//!
//! Database errors are mapped here, in one place: workflow rules raise SQLSTATEs `DL001`…
//! with Russian messages (see `migrations/`), constraints are matched by name.

/// A workflow rule enforced by the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Rule {
    /// The status cannot move that way (`DL001`).
    Transition,
    /// `назначено`/`в работе` need an executor, an executor needs an address (`DL002`).
    NeedsExecutor,
    /// `в работе` needs a recorded outgoing call to an assigned executor (`DL003`).
    ExecutorNotNotified,
    /// Closing and reopening is for supervisors (`DL004`).
    SupervisorOnly,
    /// The executor does not serve that kind or building (`DL005`).
    ExecutorNotServing,
    /// A call cannot be stored with times in the future (`DL006`).
    CallTime,
    /// Joining needs the same kind at the same building (`DL007`).
    Join,
    /// Number, author and registration time never change (`DL009`).
    Immutable,
    /// A person-management rule (`DL011`–`DL015`).
    People,
    /// An appeal cannot say it was received after it was registered, or long before
    /// (`DL016`).
    ReceivedAt,
    /// A person's daily allowance of stored files and recordings is used up (`DL017`).
    Quota,
    /// A card was registered under this id with other data (`DL018`).
    AlreadyRegistered,
    /// Only one's own call can be linked, and only once (`DL019`).
    NotYourCall,
}

/// What can go wrong in a store operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Someone else saved the appeal since it was read (optimistic `version`).
    #[error("Обращение {number} изменил другой оператор — обновите карточку и повторите изменения")]
    Conflict {
        /// The appeal's id.
        id: uuid::Uuid,
        /// The appeal's number.
        number: String,
        /// The version the appeal has now.
        version: i32,
    },
    /// The thing asked for does not exist or is not visible to this person.
    #[error("{0} не найдено — возможно, его удалили или у вас нет к нему доступа")]
    NotFound(&'static str),
    /// A field is missing or malformed; nothing was saved.
    #[error("{message}")]
    Invalid {
        /// The field, as named in the API (camelCase).
        field: &'static str,
        /// What to do, in Russian.
        message: String,
    },
    /// A workflow rule refused the change; nothing was saved.
    #[error("{message}{}", hint.as_deref().map(|h| format!(". {h}")).unwrap_or_default())]
    Rule {
        /// Which rule.
        rule: Rule,
        /// The database's own words.
        message: String,
        /// What to do next.
        hint: Option<String>,
    },
    /// The person's role does not allow this.
    #[error("Недостаточно прав: {0}")]
    Forbidden(String),
    /// Someone else's save holds the appeal right now; retry in a moment.
    #[error("Обращение сейчас сохраняет другой сотрудник — повторите через несколько секунд")]
    Busy,
    /// The server has no connection to spare (too many sessions, or this person's limit).
    #[error("Сервер базы данных сейчас не принимает новых подключений — сообщите администратору; введённое не потеряется, повторите через минуту")]
    ServerFull,
    /// The server is shutting down or starting up; what was typed is kept and saved once it is
    /// back.
    #[error("Сервер базы данных перезапускается — подождите: введённое сохранится, когда он вернётся")]
    ServerRestarting,
    /// The connection to the server broke; the operation may be retried.
    #[error("Нет связи с сервером базы данных — проверьте сеть и повторите")]
    ConnectionLost(#[source] sqlx::Error),
    /// Anything else from the database; the server's own words go to the log, not the screen.
    #[error("Сервер базы данных не выполнил действие (код {}) — повторите; если не получится, сообщите администратору", sqlstate_of(.0))]
    Database(sqlx::Error),
}

/// The SQLSTATE of an error from the server, or what kind of failure it was.
fn sqlstate_of(e: &sqlx::Error) -> String {
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
        .unwrap_or_else(|| "нет".to_owned())
}

/// An error as a client receives it: `{ kind, message, field, appeal }`, kind in camelCase so
/// that the UI can branch on it, message in Russian to show as it is.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, rename = "CommandError"))]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// `wrongPassword`, `unreachable`, `tls`, `conflict`, `invalid`, `rule`, `forbidden`,
    /// `notLoggedIn`…
    pub kind: String,
    /// What to tell the person.
    pub message: String,
    /// The field to mark red, for `invalid`.
    pub field: Option<String>,
    /// The appeal someone else changed meanwhile, for `conflict`.
    pub appeal: Option<ConflictedAppeal>,
}

/// The appeal a conflict is about, as the database names it: the DETAIL of its `DL008`, a JSON
/// object, so that nobody reads it out of the message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct ConflictedAppeal {
    /// Id.
    pub id: uuid::Uuid,
    /// Number.
    pub number: String,
    /// The version it has now.
    pub version: i32,
}

impl From<&Error> for ErrorBody {
    fn from(e: &Error) -> Self {
        Self {
            kind: e.kind().to_owned(),
            message: e.to_string(),
            field: match e {
                Error::Invalid { field, .. } if !field.is_empty() => Some((*field).to_owned()),
                _ => None,
            },
            appeal: match e {
                Error::Conflict { id, number, version } => Some(ConflictedAppeal {
                    id: *id,
                    number: number.clone(),
                    version: *version,
                }),
                _ => None,
            },
        }
    }
}

impl From<&crate::ConnectError> for ErrorBody {
    fn from(e: &crate::ConnectError) -> Self {
        Self {
            kind: e.kind().to_owned(),
            message: e.to_string(),
            field: None,
            appeal: None,
        }
    }
}

/// Shorthand for results of store operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A missing or malformed field.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    /// The camelCase name of the variant, for clients that branch on it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Conflict { .. } => "conflict",
            Self::NotFound(_) => "notFound",
            Self::Invalid { .. } => "invalid",
            Self::Rule { .. } => "rule",
            Self::Forbidden(_) => "forbidden",
            Self::Busy => "busy",
            Self::ServerFull => "serverFull",
            Self::ServerRestarting => "serverRestarting",
            Self::ConnectionLost(_) => "connectionLost",
            Self::Database(_) => "database",
        }
    }
}

/// Constraint names → (field, what to do).
fn constraint_message(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "appeals_identifier_check" => (
            "identifier",
            "Укажите идентификатор заявителя: телефон (+7…) или адрес электронной почты; без них можно только письмо или личный приём",
        ),
        "appeals_written_answer_check" => (
            "contacts",
            "Без телефона и e-mail укажите ФИО заявителя и почтовый адрес для ответа в поле «Контакты»",
        ),
        "appeals_address_required_check" => (
            "buildingId",
            "Для аварии и заявки укажите адрес: найдите дом по названию улицы и номеру",
        ),
        "appeals_kind_fkey" => (
            "kindId",
            "Такого вида обращения нет в справочнике — выберите вид из списка",
        ),
        "appeals_building_fkey" => ("buildingId", "Такого дома нет в справочнике — выберите адрес из списка"),
        "appeals_joined_to_fkey" | "appeals_not_joined_to_self_check" => (
            "joinedTo",
            "Обращение нельзя присоединить к нему самому или к несуществующему",
        ),
        "appeal_executors_pkey" => ("executorIds", "Этот исполнитель уже назначен"),
        "appeal_executors_executor_fkey" => ("executorIds", "Такого исполнителя нет в справочнике"),
        "appeal_history_comment_check" => ("comment", "Комментарий пуст — напишите текст"),
        "attachments_size_check" => (
            "content",
            "Файл пуст или больше 25 МБ — уменьшите его (например, сожмите видео)",
        ),
        "attachments_file_name_check" => ("fileName", "У файла нет имени"),
        "calls_numbers_check" => ("number", "Номер телефона звонка записан неверно"),
        "calls_recording_size_check" => ("recording", "Запись разговора пуста или больше 100 МБ"),
        "organizations_name_key" => ("name", "Организация с таким названием уже есть"),
        "organizations_name_check" => ("name", "Укажите название организации"),
        "organizations_phone_check" | "executors_phones_check" => {
            ("phones", "Телефон записан неверно — укажите его в формате +7…")
        }
        "buildings_address_key" => ("address", "Такой дом уже есть в справочнике"),
        "buildings_parts_check" => ("address", "Укажите город, улицу и номер дома"),
        "buildings_organization_fkey" | "executors_organization_fkey" | "staff_organization_fkey" => {
            ("organizationId", "Такой организации нет в справочнике")
        }
        "appeal_kinds_name_key" => ("name", "Вид обращения с таким названием уже есть"),
        "appeal_kinds_name_check" => ("name", "Укажите название вида обращения"),
        "appeal_kinds_minutes_check" => ("resolveMinutes", "Сроки указываются положительным числом минут"),
        "executors_full_name_check" | "staff_full_name_check" => ("fullName", "Укажите фамилию, имя и отчество"),
        "staff_manager_organization_check" => ("organizationId", "Для представителя УК укажите его организацию"),
        "staff_sip_extension_key" => ("sipExtension", "Этот внутренний номер уже занят другим сотрудником"),
        "staff_login_check" => (
            "login",
            "Логин: от 3 латинских строчных букв, цифр, точек и дефисов, начиная с буквы",
        ),
        "filter_templates_owner_name_key" => ("name", "Шаблон с таким названием уже есть — выберите другое название"),
        "filter_templates_name_check" => ("name", "Укажите название шаблона"),
        "kb_articles_title_check" => ("title", "Укажите заголовок статьи"),
        "building_prices_service_key" => ("service", "Эта услуга уже есть в прейскуранте дома"),
        "building_prices_price_check" => ("price", "Цена не может быть отрицательной"),
        "schedules_times_check" => ("endsAt", "Конец смены должен быть позже начала"),
        _ => return None,
    })
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        let Some(db) = e.as_database_error() else {
            return match e {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => Self::ConnectionLost(e),
                sqlx::Error::RowNotFound => Self::NotFound("Запись"),
                e => Self::Database(e),
            };
        };
        let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
        match code.as_str() {
            // too_many_connections, and a person's own connection limit.
            "53300" => return Self::ServerFull,
            // admin_shutdown, crash_shutdown, cannot_connect_now (starting up or recovering).
            "57P01" | "57P02" | "57P03" => return Self::ServerRestarting,
            c if c.starts_with("08") => return Self::ConnectionLost(e),
            _ => {}
        }
        if code == "DL008" {
            let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
            let detail = pg.and_then(|p| p.detail()).unwrap_or_default();
            match serde_json::from_str::<ConflictedAppeal>(detail) {
                Ok(ConflictedAppeal { id, number, version }) => return Self::Conflict { id, number, version },
                Err(parse) => {
                    tracing::warn!(error = %parse, detail, "a conflict whose DETAIL names no appeal");
                    return Self::Database(e);
                }
            }
        }
        if code == "55P03" {
            return Self::Busy;
        }
        if code == "DL010" {
            return Self::invalid(
                "kindId",
                "Такого вида обращения нет в справочнике — выберите вид из списка",
            );
        }
        if let Some(rule) = rule_of(&code) {
            let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
            return Self::Rule {
                rule,
                message: db.message().to_owned(),
                hint: pg.and_then(|p| p.hint()).map(str::to_owned),
            };
        }
        if code == "42501" {
            // «Недостаточно прав: …» goes on in lower case.
            let m = db.message();
            let mut chars = m.chars();
            let first = chars
                .next()
                .map(|c| c.to_lowercase().collect::<String>())
                .unwrap_or_default();
            return Self::Forbidden(first + chars.as_str());
        }
        if let Some((field, message)) = db.constraint().and_then(constraint_message) {
            return Self::invalid(field, message);
        }
        if code == "23502" {
            return Self::invalid("", format!("Не заполнено обязательное поле: {}", db.message()));
        }
        tracing::warn!(error = %e, "database error shown to the person by its code");
        Self::Database(e)
    }
}

impl Error {
    /// Whether trying the same thing again, at once, may well succeed: the server broke a
    /// deadlock or a serialization conflict by cancelling this transaction.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Database(e) if matches!(
            e.as_database_error().and_then(|d| d.code()).as_deref(),
            Some("40P01" | "40001")
        ))
    }

    /// Whether the server could not be reached or could not take the request now, so that the
    /// person's input is kept and sent again once it is back.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::ConnectionLost(_) | Self::ServerFull | Self::ServerRestarting | Self::Busy
        )
    }
}

impl crate::Store {
    /// Runs `f` again when the server cancelled it to break a deadlock or a serialization
    /// conflict (at most three times, with a short pause); when no connection could be had,
    /// finds out why: a full server and a restarting one are told apart from a lost network.
    pub(crate) async fn retrying<T, F, Fut>(&self, mut f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut attempt = 0;
        loop {
            match f().await {
                Err(e) if e.is_transient() && attempt < 3 => {
                    attempt += 1;
                    tracing::info!(attempt, "retrying after a deadlock or serialization conflict");
                    tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
                }
                Err(e) => return Err(self.why_unavailable(e).await),
                r => return r,
            }
        }
    }

    /// The pool waits out a full or restarting server as if the network were slow; one
    /// connection of our own asks the server what the matter is.
    async fn why_unavailable(&self, e: Error) -> Error {
        if !matches!(e, Error::ConnectionLost(sqlx::Error::PoolTimedOut)) {
            return e;
        }
        let opts = self.pool.connect_options();
        let probe = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            use sqlx::Connection;
            sqlx::PgConnection::connect_with(&opts).await
        });
        match probe.await {
            Ok(Ok(c)) => {
                use sqlx::Connection;
                let _ = c.close().await;
                e
            }
            Ok(Err(sqlx::Error::Io(io))) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                Error::ServerRestarting
            }
            Ok(Err(err)) if err.as_database_error().is_some() => Error::from(err),
            _ => e,
        }
    }
}

fn rule_of(code: &str) -> Option<Rule> {
    Some(match code {
        "DL001" => Rule::Transition,
        "DL002" => Rule::NeedsExecutor,
        "DL003" => Rule::ExecutorNotNotified,
        "DL004" => Rule::SupervisorOnly,
        "DL005" => Rule::ExecutorNotServing,
        "DL006" => Rule::CallTime,
        "DL007" => Rule::Join,
        "DL009" => Rule::Immutable,
        "DL016" => Rule::ReceivedAt,
        "DL017" => Rule::Quota,
        "DL018" => Rule::AlreadyRegistered,
        "DL019" => Rule::NotYourCall,
        c if c.starts_with("DL") => Rule::People,
        _ => return None,
    })
}

/// The database's own message of an error, if it came from the server.
pub fn server_message(e: &sqlx::Error) -> Option<&str> {
    e.as_database_error().map(|d| d.message())
}
