//! The per-route method check, including the method-override channels that
//! frameworks honour (`X-HTTP-Method-Override` and friends, `?_method=`):
//! a `GET` that tells the application it is a `DELETE` must not pass a
//! route that allows only `GET`.

use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};

use super::respond;
use crate::body::Body;
use crate::config::Route;

/// Headers frameworks read as the real method.
const OVERRIDE_HEADERS: [&str; 3] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// 405 with `Allow` when the route restricts methods and the request's
/// method, or any method it asks the application to use instead, is not
/// among them.
pub fn check(
    route: &Route,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Option<Response<Body>> {
    let allowed = route.methods.as_ref()?;
    let allows = |m: &[u8]| {
        Method::from_bytes(m.trim_ascii().to_ascii_uppercase().as_slice())
            .is_ok_and(|m| allowed.contains(&m))
    };
    let header_overrides = OVERRIDE_HEADERS
        .iter()
        .flat_map(|name| headers.get_all(*name))
        .all(|v| allows(v.as_bytes()));
    let query_overrides = query.is_none_or(|q| {
        form_urlencoded::parse(q.as_bytes())
            .filter(|(k, _)| k.eq_ignore_ascii_case("_method"))
            .all(|(_, v)| allows(v.as_bytes()))
    });
    if allowed.contains(method) && header_overrides && query_overrides {
        return None;
    }
    let mut resp = respond::json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    );
    let list = allowed
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(v) = HeaderValue::from_str(&list) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    Some(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(methods: Option<Vec<Method>>) -> Route {
        Route {
            prefix: "/".into(),
            upstream: "http://127.0.0.1:1".parse().unwrap(),
            policy: crate::config::Policy::Public,
            methods,
            max_body_bytes: 1,
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    /// Overrides to a method the route allows pass; any other is 405.
    #[test]
    fn overrides_are_checked() {
        let r = route(Some(vec![Method::GET, Method::HEAD]));
        let none = headers(&[]);
        assert!(check(&r, &Method::GET, &none, None).is_none());
        assert!(
            check(
                &r,
                &Method::GET,
                &headers(&[("x-http-method-override", "head")]),
                None
            )
            .is_none()
        );
        assert!(check(&r, &Method::GET, &none, Some("_method=GET&a=1")).is_none());
        assert!(check(&r, &Method::POST, &none, None).is_some());
        for bad in [
            &[("x-http-method-override", "DELETE")][..],
            &[("x-http-method", "delete")],
            &[("x-method-override", "PUT")],
            &[
                ("x-http-method-override", "GET"),
                ("x-http-method-override", "PATCH"),
            ],
            &[("x-http-method-override", "not a method")],
        ] {
            let resp = check(&r, &Method::GET, &headers(bad), None).expect("refused");
            assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{bad:?}");
            assert_eq!(resp.headers()["allow"], "GET, HEAD");
        }
        for q in [
            "_method=DELETE",
            "_METHOD=put",
            "a=1&_method=GET&_method=POST",
        ] {
            assert!(check(&r, &Method::GET, &none, Some(q)).is_some(), "{q}");
        }
        let open = route(None);
        let h = headers(&[("x-http-method-override", "DELETE")]);
        assert!(
            check(&open, &Method::GET, &h, None).is_none(),
            "no restriction"
        );
    }
}
