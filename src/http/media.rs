//! Which media type a GraphQL answer is sent as, from the request's `Accept` header, and what
//! that decides (the GraphQL over HTTP specification, "Accept" and "Response"; README, "GraphQL
//! over HTTP"):
//!
//! - `application/graphql-response+json`: the status code says what happened. A request that
//!   fails before execution (it does not parse, does not validate, its variables do not coerce,
//!   or it is over a limit) answers 400, without a `data` entry.
//! - `application/json`, the legacy type, which clients that send no `Accept`, `*/*` or
//!   `application/json` get: every well-formed request answers 200, its errors in the body
//!   (again without `data` when it failed before execution), as such clients expect.
//!
//! An `Accept` header that allows neither is answered 406.

use axum::http::{HeaderMap, header};

/// The media type of a GraphQL answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerMedia {
    /// `application/graphql-response+json`.
    GraphqlResponse,
    /// `application/json`.
    Json,
}

impl AnswerMedia {
    pub fn content_type(self) -> &'static str {
        match self {
            AnswerMedia::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            AnswerMedia::Json => "application/json; charset=utf-8",
        }
    }

    /// The media type `headers` ask for, or `None` when their `Accept` allows neither.
    /// Without an `Accept` header, `application/json` (the specification's rule for clients
    /// that predate it).
    pub fn negotiate(headers: &HeaderMap) -> Option<AnswerMedia> {
        let mut ranges = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(MediaRange::parse)
            .peekable();
        if ranges.peek().is_none() {
            return Some(AnswerMedia::Json);
        }
        let ranges: Vec<MediaRange> = ranges.collect();
        let graphql = preference(&ranges, "application", "graphql-response+json");
        let json = preference(&ranges, "application", "json");
        // The higher quality wins; at equal quality the range that names a type exactly wins
        // over a wildcard (`*/*` means the legacy type, as the specification asks), and
        // between two exact names the newer type.
        match (graphql, json) {
            (None, None) => None,
            (Some(_), None) => Some(AnswerMedia::GraphqlResponse),
            (None, Some(_)) => Some(AnswerMedia::Json),
            (Some(g), Some(j)) => {
                if g.quality > j.quality || (g.quality == j.quality && g.exact) {
                    Some(AnswerMedia::GraphqlResponse)
                } else {
                    Some(AnswerMedia::Json)
                }
            }
        }
    }
}

/// The media type a request's body says it is (`Content-Type` without parameters such as
/// `charset`), lower-cased; `None` when the header is missing or not text.
pub fn body_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// Whether a request's body says it is `application/json`: the only type a GraphQL request is
/// read as.
pub fn is_json(headers: &HeaderMap) -> bool {
    body_type(headers).as_deref() == Some("application/json")
}

/// One entry of an `Accept` header: `type/subtype` with its quality (`q`, 1 when absent).
#[derive(Debug)]
struct MediaRange {
    kind: String,
    subtype: String,
    /// Thousandths, as the quality's three decimals allow.
    quality: u16,
}

impl MediaRange {
    fn parse(entry: &str) -> Option<MediaRange> {
        let mut parts = entry.split(';');
        let (kind, subtype) = parts.next()?.trim().split_once('/')?;
        let mut quality = 1000;
        for parameter in parts {
            if let Some((name, value)) = parameter.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                quality = parse_quality(value.trim())?;
            }
        }
        Some(MediaRange {
            kind: kind.trim().to_ascii_lowercase(),
            subtype: subtype.trim().to_ascii_lowercase(),
            quality,
        })
    }
}

/// A quality value (`0`, `0.5`, `1.000`) in thousandths; `None` when it is not one.
fn parse_quality(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// How much `ranges` want `kind/subtype`: the quality of the most specific range that matches
/// it (RFC 9110, 12.5.1), and whether that range names it exactly; `None` when none matches
/// or the matching one refuses it (`q=0`).
struct Preference {
    quality: u16,
    exact: bool,
}

fn preference(ranges: &[MediaRange], kind: &str, subtype: &str) -> Option<Preference> {
    let specificity = |range: &MediaRange| match (range.kind.as_str(), range.subtype.as_str()) {
        (k, s) if k == kind && s == subtype => Some(2),
        (k, "*") if k == kind => Some(1),
        ("*", "*") => Some(0),
        _ => None,
    };
    let (best, specific) = ranges
        .iter()
        .filter_map(|range| specificity(range).map(|s| (range, s)))
        .max_by_key(|(range, s)| (*s, range.quality))?;
    (best.quality > 0).then_some(Preference {
        quality: best.quality,
        exact: specific == 2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn negotiate(accept: Option<&str>) -> Option<AnswerMedia> {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(
                header::ACCEPT,
                HeaderValue::from_str(accept).expect("header"),
            );
        }
        AnswerMedia::negotiate(&headers)
    }

    #[test]
    fn legacy_clients_get_json() {
        assert_eq!(negotiate(None), Some(AnswerMedia::Json));
        assert_eq!(negotiate(Some("*/*")), Some(AnswerMedia::Json));
        assert_eq!(negotiate(Some("application/json")), Some(AnswerMedia::Json));
        assert_eq!(negotiate(Some("application/*")), Some(AnswerMedia::Json));
        assert_eq!(
            negotiate(Some("text/html, */*;q=0.8")),
            Some(AnswerMedia::Json)
        );
    }

    #[test]
    fn the_graphql_response_type_is_chosen_when_named() {
        assert_eq!(
            negotiate(Some("application/graphql-response+json")),
            Some(AnswerMedia::GraphqlResponse)
        );
        // What GraphiQL and graphql-http's client send.
        assert_eq!(
            negotiate(Some(
                "application/graphql-response+json, application/json, multipart/mixed"
            )),
            Some(AnswerMedia::GraphqlResponse)
        );
        assert_eq!(
            negotiate(Some("application/graphql-response+json;charset=utf-8, */*")),
            Some(AnswerMedia::GraphqlResponse)
        );
    }

    #[test]
    fn qualities_decide() {
        assert_eq!(
            negotiate(Some(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(AnswerMedia::Json)
        );
        assert_eq!(
            negotiate(Some(
                "application/json;q=0.9, application/graphql-response+json"
            )),
            Some(AnswerMedia::GraphqlResponse)
        );
        assert_eq!(
            negotiate(Some("application/json;q=0, */*")),
            Some(AnswerMedia::GraphqlResponse),
            "json refused, anything else welcome"
        );
        assert_eq!(
            negotiate(Some("*/*;q=0.5, application/graphql-response+json;q=0.1")),
            Some(AnswerMedia::Json)
        );
    }

    #[test]
    fn nothing_acceptable() {
        assert_eq!(negotiate(Some("text/html")), None);
        assert_eq!(negotiate(Some("application/xml, text/plain")), None);
        assert_eq!(negotiate(Some("application/json;q=0")), None);
    }

    #[test]
    fn only_json_bodies() {
        let with = |content_type: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type).expect("header"),
            );
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(!with("text/plain;charset=UTF-8"));
        assert!(!with("multipart/form-data; boundary=b"));
        assert!(!with("application/jsonx"));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn qualities_parse() {
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("0.5"), Some(500));
        assert_eq!(parse_quality("0.05"), Some(50));
        assert_eq!(parse_quality("0"), Some(0));
        assert_eq!(parse_quality("1.5"), None);
        assert_eq!(parse_quality("0.1234"), None);
        assert_eq!(parse_quality("x"), None);
    }
}
