//! The rules for the names people give things: people, teams, apps, environments, keys, tokens.

use crate::error::{ApiError, ApiResult};

/// The longest name accepted, in characters.
pub const MAX_NAME: usize = 200;

/// Trims `input` and checks it is 1 to 200 characters without control characters; `what`
/// names the field in the error ("a team name").
pub fn clean_name(input: &str, what: &str) -> ApiResult<String> {
    let name = input.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::bad_input(format!(
            "{what} is 1 to {MAX_NAME} characters long, without control characters"
        )));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            clean_name("  Rocket ", "a team name").ok().as_deref(),
            Some("Rocket")
        );
        assert!(clean_name("   ", "a name").is_err());
        assert!(clean_name(&"x".repeat(MAX_NAME + 1), "a name").is_err());
        assert!(clean_name("A\u{0}na", "a name").is_err());
        assert!(clean_name("Ünïcødé 🚀", "a name").is_ok());
    }
}
