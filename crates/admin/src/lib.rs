//! Headless administration of a Dialog database: migrations, people, dictionaries from CSV,
//! and a demo city.

pub mod demo;
pub mod import;
pub mod phone_test;
pub mod print;

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use dialog_core::model::StaffRole;
use dialog_core::people::NewPerson;
use dialog_core::Store;
use sqlx::postgres::PgPoolOptions;

/// Administration of a Dialog database.
#[derive(Debug, Parser)]
#[command(name = "dialog-admin", version, about)]
pub struct Cli {
    /// The database, as the owner role (migrate, demo, import) or as an admin person (users):
    /// postgres://LOGIN:PASSWORD@HOST:PORT/DATABASE
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Brings the schema up to date (run as the owner role).
    Migrate,
    /// People: add, disable, enable, set a password.
    #[command(subcommand)]
    User(UserCommand),
    /// Logins of dialog-server's duties (the PBX bridge, the mail intake): no person holds them.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// What counts as the conversation with an executor that lets an appeal move to «в работе»:
    /// `pbx` (the default: only a call the PBX carried, as dialog-server's pbx duty records it)
    /// or `app` (the operators' own recordings: for a center without the PBX bridge, which
    /// then trusts its operators).
    CallEvidence {
        /// `pbx` or `app`.
        #[arg(value_parser = ["pbx", "app"])]
        evidence: String,
    },
    /// Loads a directory from a CSV file (UTF-8, with a header row); all rows or none.
    Import {
        /// Which directory.
        what: import::Directory,
        /// The CSV file; for `kinds`, omit it to load the legal defaults shipped with Dialog.
        file: Option<std::path::PathBuf>,
    },
    /// Fills the database with a realistic demo city and a history of appeals.
    Demo(demo::DemoArgs),
    /// Prints the card of an appeal to PDF, for the executor.
    PrintCard(print::CardArgs),
    /// Exports a report over a period to PDF or CSV (for scheduled exports).
    Report(print::ReportArgs),
    /// A test call through the PBX (no database needed): registers, calls or answers, plays a
    /// file, records the far end; exit code 0 only when answered and audio came back.
    PhoneTest(phone_test::PhoneTestArgs),
}

/// Roles as typed on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Диспетчер.
    Operator,
    /// Старший диспетчер.
    Supervisor,
    /// Представитель УК.
    Manager,
    /// Администратор.
    Admin,
}

impl From<RoleArg> for StaffRole {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Operator => StaffRole::Operator,
            RoleArg::Supervisor => StaffRole::Supervisor,
            RoleArg::Manager => StaffRole::Manager,
            RoleArg::Admin => StaffRole::Admin,
        }
    }
}

/// People.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Creates a person with their own login.
    Add {
        /// Login (latin lower-case letters, digits, `.`, `-`, `_`).
        login: String,
        /// Role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Full name.
        #[arg(long)]
        full_name: String,
        /// SIP extension of their phone line.
        #[arg(long)]
        sip: Option<String>,
        /// Organization (by name), required for managers.
        #[arg(long)]
        organization: Option<String>,
        /// Read the password from this environment variable instead of standard input.
        #[arg(long)]
        password_env: Option<String>,
    },
    /// Switches a login off and ends its sessions.
    Disable {
        /// Login.
        login: String,
    },
    /// Switches a login back on.
    Enable {
        /// Login.
        login: String,
    },
    /// Sets a new password.
    Password {
        /// Login.
        login: String,
        /// Read the password from this environment variable instead of standard input.
        #[arg(long)]
        password_env: Option<String>,
    },
}

/// Service logins.
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Creates the login of one duty of dialog-server.
    Add {
        /// Login (latin lower-case letters, digits, `.`, `-`, `_`), e.g. `dialog_pbx`.
        login: String,
        /// `pbx` or `mail`.
        #[arg(long, value_parser = ["pbx", "mail"])]
        duty: String,
        /// Read the password from this environment variable instead of standard input.
        #[arg(long)]
        password_env: Option<String>,
    },
}

fn read_password(env: Option<&str>) -> anyhow::Result<String> {
    if let Some(var) = env {
        return std::env::var(var).with_context(|| format!("переменная окружения {var} не задана"));
    }
    eprint!("Пароль: ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        bail!("пароль не введён");
    }
    Ok(p)
}

/// Connects as given by `--database-url`.
pub async fn connect(url: Option<&str>) -> anyhow::Result<sqlx::PgPool> {
    let url = url.context("укажите базу данных: --database-url или переменная DATABASE_URL")?;
    PgPoolOptions::new()
        .max_connections(4)
        .connect(url)
        .await
        .context("не удалось подключиться к базе данных")
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::PhoneTest(args) = &cli.command {
        return phone_test::run(args).await;
    }
    let pool = connect(cli.database_url.as_deref()).await?;
    let command = match cli.command {
        Command::Migrate => {
            dialog_core::MIGRATOR
                .run(&pool)
                .await
                .context("миграция не выполнена")?;
            println!("Схема базы данных обновлена.");
            return Ok(());
        }
        c => c,
    };
    let store = Store::from_pool(pool)
        .await
        .context("это не база Диалога или она не обновлена: выполните dialog-admin migrate")?;
    execute(&store, command).await
}

/// Runs one command other than `migrate` with a store already connected.
pub async fn execute(store: &Store, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Migrate => bail!("миграция выполняется через dialog-admin migrate"),
        Command::User(u) => user(store, u).await?,
        Command::Service(ServiceCommand::Add {
            login,
            duty,
            password_env,
        }) => {
            let duty = if duty == "mail" {
                dialog_core::pbx::Duty::Mail
            } else {
                dialog_core::pbx::Duty::Pbx
            };
            let password = read_password(password_env.as_deref())?;
            store.add_service(&login, &password, duty).await?;
            println!("Служба {login} создана.");
        }
        Command::CallEvidence { evidence } => {
            store.set_setting("call_evidence", &evidence).await?;
            if evidence == "app" {
                println!("«В работе» теперь открывает запись разговора в программе оператора. Её пишет сам оператор: так можно только там, где нет моста АТС (dialog-server, служба pbx).");
            } else {
                println!("«В работе» открывает только звонок, который записала АТС (dialog-server, служба pbx).");
            }
        }
        Command::Import { what, file } => {
            let n = import::import_file(store, what, file.as_deref()).await?;
            println!("Загружено строк: {n}.");
        }
        Command::Demo(args) => demo::run(store, &args).await?,
        Command::PrintCard(args) => print::print_card(store, &args).await?,
        Command::Report(args) => print::report(store, &args).await?,
        Command::PhoneTest(args) => phone_test::run(&args).await?,
    }
    Ok(())
}

async fn user(store: &Store, u: UserCommand) -> anyhow::Result<()> {
    match u {
        UserCommand::Add {
            login,
            role,
            full_name,
            sip,
            organization,
            password_env,
        } => {
            let organization_id = match organization {
                Some(name) => Some(
                    store
                        .organizations()
                        .await?
                        .into_iter()
                        .find(|o| o.name == name)
                        .with_context(|| format!("организация «{name}» не найдена"))?
                        .id,
                ),
                None => None,
            };
            let password = read_password(password_env.as_deref())?;
            store
                .add_person(&NewPerson {
                    login: login.clone(),
                    password,
                    role: role.into(),
                    full_name,
                    sip_extension: sip,
                    organization_id,
                })
                .await?;
            println!("Сотрудник {login} создан.");
        }
        UserCommand::Disable { login } => {
            store.set_person_active(&login, false).await?;
            println!("Вход для {login} отключён.");
        }
        UserCommand::Enable { login } => {
            store.set_person_active(&login, true).await?;
            println!("Вход для {login} включён.");
        }
        UserCommand::Password { login, password_env } => {
            let password = read_password(password_env.as_deref())?;
            store.set_password(&login, &password).await?;
            println!("Пароль {login} изменён.");
        }
    }
    Ok(())
}

/// The binary's entry point: parses arguments, runs, prints errors in Russian.
pub async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("DIALOG_LOG"))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Ошибка: {e:#}");
            ExitCode::FAILURE
        }
    }
}
