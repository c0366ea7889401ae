//! Logging in: each failure a person can meet is told apart.

mod common;

use common::*;
use dialog_core::model::StaffRole;
use dialog_core::people::PersonChanges;
use dialog_core::{ConnectError, ConnectOptions, Store, TlsMode};
use sqlx::PgPool;

/// The (self-signed) certificate of the test cluster (`scripts/pg-cluster.sh`), which is its
/// own authority; the TLS tests need it.
fn test_ca() -> std::path::PathBuf {
    std::env::var_os("DIALOG_TEST_PG_CA")
        .map(Into::into)
        .expect("DIALOG_TEST_PG_CA must name the CA of the test server (scripts/test.sh sets it)")
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn right_and_wrong_passwords(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (_, login) = person(&city, StaffRole::Operator, None).await?;
    let store = Store::connect(&options_for(city.owner.pool(), &login, PASSWORD)).await?;
    let me = store.me().expect("a person");
    assert_eq!((me.login.as_str(), me.role), (login.as_str(), StaffRole::Operator));
    let e = Store::connect(&options_for(city.owner.pool(), &login, "неверный"))
        .await
        .expect_err("wrong password");
    assert!(matches!(e, ConnectError::WrongPassword), "{e:?}");
    assert!(e.to_string().contains("Неверный логин или пароль"));
    let e = Store::connect(&options_for(city.owner.pool(), "nobody_here", PASSWORD))
        .await
        .expect_err("no such login");
    assert!(
        matches!(e, ConnectError::WrongPassword),
        "an unknown login looks the same as a wrong password: {e:?}"
    );
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn disabled_people_cannot_log_in_and_are_thrown_out(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    city.owner.set_person_active(&login, false).await?;
    let e = Store::connect(&options_for(city.owner.pool(), &login, PASSWORD))
        .await
        .expect_err("disabled");
    assert!(matches!(e, ConnectError::AccountDisabled(_)), "{e:?}");
    assert!(op.organizations().await.is_err(), "the open session was ended");
    city.owner.set_person_active(&login, true).await?;
    Store::connect(&options_for(city.owner.pool(), &login, PASSWORD)).await?;
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn an_admin_corrects_a_person_and_their_rights_follow_the_new_role(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (admin, admin_login) = person(&city, StaffRole::Admin, None).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let changes = |role| PersonChanges {
        login: login.clone(),
        role,
        full_name: "Петрова Ольга Ивановна".into(),
        sip_extension: Some("2042".into()),
        organization_id: None,
    };
    assert!(
        op.update_person(&changes(StaffRole::Supervisor)).await.is_err(),
        "only admins"
    );
    admin.update_person(&changes(StaffRole::Supervisor)).await?;
    let me = Store::connect(&options_for(city.owner.pool(), &login, PASSWORD)).await?;
    let me = me.me().expect("a person");
    assert_eq!(
        (me.role, me.full_name.as_str(), me.sip_extension.as_deref()),
        (StaffRole::Supervisor, "Петрова Ольга Ивановна", Some("2042"))
    );
    // The group changed with the row: the database now treats them as a supervisor.
    let groups: Vec<String> = sqlx::query_scalar(
        r#"select g.rolname::text from pg_auth_members m
           join pg_roles g on g.oid = m.roleid join pg_roles u on u.oid = m.member
           where u.rolname = $1 order by 1"#,
    )
    .bind(&login)
    .fetch_all(city.owner.pool())
    .await?;
    assert_eq!(groups, ["dialog_supervisor"]);
    // A manager needs an organization; nothing of the change is saved without one.
    assert!(admin.update_person(&changes(StaffRole::Manager)).await.is_err());
    assert_eq!(
        admin
            .people()
            .await?
            .into_iter()
            .find(|p| p.login == login)
            .map(|p| p.role),
        Some(StaffRole::Supervisor)
    );
    // Nobody changes their own role.
    let mut own = changes(StaffRole::Operator);
    own.login = admin_login;
    assert!(admin.update_person(&own).await.is_err());
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_role_that_is_not_a_person_is_told_so(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let role = format!("stranger{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    sqlx::query(&format!("create role {role} login password '{PASSWORD}'"))
        .execute(city.owner.pool())
        .await?;
    let e = Store::connect(&options_for(city.owner.pool(), &role, PASSWORD))
        .await
        .expect_err("not a person");
    sqlx::query(&format!("drop role {role}"))
        .execute(city.owner.pool())
        .await?;
    assert!(matches!(e, ConnectError::NotAPerson(_)), "{e:?}");
    Ok(())
}

#[tokio::test]
async fn nobody_listening_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(1);
    let opts =
        ConnectOptions::for_server(&format!("127.0.0.1:{port}"), "ivanov", "x", TlsMode::Prefer).expect("address");
    let e = Store::connect(&opts).await.expect_err("nothing listens there");
    assert!(matches!(e, ConnectError::Unreachable { .. }), "{e:?}");
    assert!(e.to_string().contains("не отвечает"));
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn tls_verifies_the_server_certificate(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (_, login) = person(&city, StaffRole::Operator, None).await?;
    let mut opts = options_for(city.owner.pool(), &login, PASSWORD);
    opts.host = "localhost".into();
    // Signed by the test CA: verified and encrypted.
    opts.tls = TlsMode::VerifyFull {
        ca_file: Some(test_ca()),
    };
    let store = Store::connect(&opts).await?;
    let ssl: bool = sqlx::query_scalar("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
        .fetch_one(store.pool())
        .await?;
    assert!(ssl);
    // The same server checked against the system's authorities: not trusted.
    opts.tls = TlsMode::VerifyFull { ca_file: None };
    let e = Store::connect(&opts).await.expect_err("self-signed server");
    assert!(matches!(e, ConnectError::Tls { .. }), "{e:?}");
    assert!(e.to_string().contains("защищённое соединение"));
    // A certificate for another name.
    opts.host = "127.0.0.2".into();
    opts.tls = TlsMode::VerifyFull {
        ca_file: Some(test_ca()),
    };
    let e = Store::connect(&opts).await.expect_err("wrong host name");
    assert!(
        matches!(e, ConnectError::Tls { .. } | ConnectError::Unreachable { .. }),
        "{e:?}"
    );
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_self_signed_server_is_trusted_once_by_its_fingerprint(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (_, login) = person(&city, StaffRole::Operator, None).await?;
    let mut opts = options_for(city.owner.pool(), &login, PASSWORD);
    let (host, port) = (opts.host.clone(), opts.port);
    let cert =
        tokio::task::spawn_blocking(move || dialog_core::certificate::fetch_server_certificate(&host, port)).await??;
    // The fingerprint the administrator reads off the server with openssl.
    let server_crt = test_ca();
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&server_crt)
        .output()?;
    let expected = String::from_utf8(out.stdout)?
        .trim()
        .rsplit('=')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(cert.fingerprint, expected);
    let pinned = std::env::temp_dir().join(format!("dialog-pinned-{}.pem", uuid::Uuid::now_v7()));
    std::fs::write(&pinned, &cert.pem)?;
    opts.tls = TlsMode::Pinned {
        cert_file: pinned.clone(),
    };
    let store = Store::connect(&opts).await?;
    let ssl: bool = sqlx::query_scalar("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
        .fetch_one(store.pool())
        .await?;
    assert!(ssl);
    // Another certificate pinned: a server presenting a different one is refused.
    let other = std::env::temp_dir().join(format!("dialog-other-{}.pem", uuid::Uuid::now_v7()));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=impostor",
            "-keyout",
            "/dev/null",
            "-out",
        ])
        .arg(&other)
        .output()?;
    assert!(out.status.success());
    opts.tls = TlsMode::Pinned {
        cert_file: other.clone(),
    };
    let e = Store::connect(&opts).await.expect_err("another certificate");
    assert!(matches!(e, ConnectError::Tls { .. }), "{e:?}");
    let _ = std::fs::remove_file(pinned);
    let _ = std::fs::remove_file(other);
    Ok(())
}
