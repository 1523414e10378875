//! A real nginx in front of the example app, asking portcullis with
//! `auth_request` (the README's snippet, on free ports in a temporary
//! directory): unauthenticated requests are refused or sent to the login
//! page, login through nginx, the user reaches the app with identity
//! headers nginx took from portcullis's answer, spoofed forwarded and
//! identity headers achieve nothing, and after logout the cookies are
//! refused again. Skipped, loudly, when no nginx binary is installed
//! (`scripts/test.sh` installs Debian's).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common;

use common::Gateway;
use common::auth::{ALICE, BOB};
use common::session::Jar;

/// The address nginx uses towards portcullis, the only trusted proxy.
const NGINX_SOURCE: &str = "127.0.0.3";

/// The nginx binary, if installed.
fn nginx_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|dir| dir.join("nginx"))
        .find(|p| p.is_file())
}

/// A running nginx; killed when dropped.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    /// Starts `binary` with [`config`] and waits until it accepts.
    async fn start(binary: &Path, gw: &Gateway, addr: SocketAddr) -> Nginx {
        let dir = gw.path("nginx");
        std::fs::create_dir_all(dir.join("tmp")).expect("nginx dir");
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config(gw, addr, &dir)).expect("nginx.conf");
        let child = Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let mut nginx = Nginx { child, dir };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return nginx;
            }
            if let Some(status) = nginx.child.try_wait().expect("try_wait") {
                panic!("nginx exited ({status}):\n{}", nginx.error_log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nginx did not listen:\n{}", nginx.error_log());
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

/// The README's nginx configuration, with test paths and ports.
fn config(gw: &Gateway, addr: SocketAddr, dir: &Path) -> String {
    let (cert, key) = (gw.path("cert.pem"), gw.path("key.pem"));
    let (cert, key, dir) = (cert.display(), key.display(), dir.display());
    let to_portcullis = format!(
        "proxy_bind {NGINX_SOURCE};
        proxy_ssl_server_name on;
        proxy_ssl_name localhost;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate {cert};"
    );
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;

    upstream portcullis {{ server {portcullis}; }}

    server {{
        listen {addr} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};

        location /auth/ {{
            proxy_pass https://portcullis;
            {to_portcullis}
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
        }}
        location = /auth/verify {{
            return 404;
        }}

        location = /_portcullis_verify {{
            internal;
            proxy_pass https://portcullis/auth/verify;
            {to_portcullis}
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Forwarded-Uri $request_uri;
            proxy_set_header X-Forwarded-Method $request_method;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Original-URI "";
            proxy_set_header X-Original-Method "";
        }}

        location / {{
            auth_request /_portcullis_verify;
            auth_request_set $auth_user $upstream_http_x_auth_request_user;
            auth_request_set $auth_email $upstream_http_x_auth_request_email;
            auth_request_set $auth_roles $upstream_http_x_auth_request_roles;
            auth_request_set $auth_session $upstream_http_x_auth_request_session;
            auth_request_set $auth_redirect $upstream_http_x_auth_redirect;
            error_page 401 = @portcullis_login;

            proxy_set_header X-Auth-Request-User $auth_user;
            proxy_set_header X-Auth-Request-Email $auth_email;
            proxy_set_header X-Auth-Request-Roles $auth_roles;
            proxy_set_header X-Auth-Request-Session $auth_session;
            proxy_set_header X-Forwarded-Uri "";
            proxy_set_header X-Forwarded-Method "";
            proxy_pass http://{app};
        }}
        location @portcullis_login {{
            if ($auth_redirect) {{
                return 302 $auth_redirect;
            }}
            return 401;
        }}
    }}
}}
"#,
        portcullis = gw.addr,
        app = gw.upstream,
    )
}

/// The whole flow through nginx.
#[tokio::test]
async fn nginx_auth_request_flow() {
    let Some(binary) = nginx_binary() else {
        eprintln!(
            "\n!!!!!!!! SKIPPED forward_nginx: no nginx binary on PATH or in /usr/sbin \
             (scripts/test.sh installs Debian's nginx) !!!!!!!!\n"
        );
        return;
    };
    let addr = common::unused_addr();
    let extra = format!(
        "[server]\npublic_url = \"https://localhost:{}\"\ntrusted_proxies = [\"{NGINX_SOURCE}\"]\n",
        addr.port()
    );
    let gw = Gateway::start_with_users(&extra, &[ALICE, BOB]).await;
    let nginx = Nginx::start(&binary, &gw, addr).await;
    let client = gw
        .client_builder()
        .resolve("localhost", addr)
        .build()
        .expect("client");
    let url = |p: &str| format!("https://localhost:{}{p}", addr.port());
    let get = |p: &str| client.get(url(p));

    // Unauthenticated: API clients 401, browsers to the login page.
    let resp = get("/headers").send().await.expect("request");
    assert_eq!(resp.status(), 401, "{}", nginx.error_log());
    let resp = get("/private?x=1")
        .header("accept", "text/html")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 302);
    let login_url = url("/auth/login?return_to=%2Fprivate%3Fx%3D1");
    assert_eq!(resp.headers()["location"], login_url.as_str());
    let page = client.get(&login_url).send().await.expect("login page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("page").contains("<form"));

    // A public page: no identity, whatever the client claims.
    let resp = get("/public/x")
        .header("accept", "text/html")
        .header("x-auth-request-user", "mallory")
        .header("x_auth_request_user", "mallory")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.expect("page");
    assert!(page.contains(r#"<dd id="user">anonymous</dd>"#), "{page}");
    assert!(!page.contains("mallory"));

    // Spoofed forwarded headers do not turn the protected path public.
    for (name, value) in [
        ("x-forwarded-uri", "/public/x"),
        ("x-original-uri", "/public/x"),
        ("x-forwarded-method", "OPTIONS"),
    ] {
        let resp = get("/headers").header(name, value).send().await.expect("r");
        assert_eq!(resp.status(), 401, "{name}");
    }
    let resp = get("/auth/verify")
        .header("x-forwarded-uri", "/public/x")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 404, "only nginx may ask");
    let direct = gw
        .client()
        .get(gw.url("/auth/verify"))
        .header("x-forwarded-uri", "/public/x")
        .send()
        .await
        .expect("request");
    assert_eq!(direct.status(), 400, "nor anyone but nginx's address");
    let resp = get("/public/..%2Fheaders").send().await.expect("request");
    assert!(!resp.status().is_success(), "{}", resp.status());

    // Log in through nginx; the protected page shows the user.
    let login = client
        .post(url("/auth/login"))
        .json(&serde_json::json!({ "username": BOB.0, "password": BOB.1 }))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let jar = Jar::from_headers(login.headers());
    let resp = get("/headers")
        .header("cookie", jar.header())
        .header("x-auth-request-user", "alice")
        .header("x-auth-request-roles", "admin")
        .header("x_auth_request_user", "alice")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200, "{}", nginx.error_log());
    let body: serde_json::Value = resp.json().await.expect("JSON");
    let h = &body["headers"];
    assert_eq!(h["x-auth-request-user"], "bob", "{body}");
    assert_eq!(h["x-auth-request-email"], "bob@example.com");
    assert!(h.get("x-auth-request-roles").is_none(), "{body}");
    assert!(!body.to_string().contains("alice"), "{body}");
    let admin = get("/admin/x").header("cookie", jar.header()).send().await;
    assert_eq!(admin.expect("request").status(), 403);

    // Log out through nginx; the same cookies are refused.
    let out = client
        .post(url("/auth/logout"))
        .header("cookie", jar.header())
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 200);
    let resp = get("/headers").header("cookie", jar.header()).send().await;
    assert_eq!(resp.expect("request").status(), 401);
}
