//! The demo world (`warren seed demo`) as a test fixture, with a token for each person and
//! global ids looked up by name.

use entity::enums::TokenScope;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use warren::api::relay::{NodeKind, global_id};

use super::TestApp;

pub struct Demo {
    pub ana: String,
    pub bo: String,
    pub chen: String,
    pub dana: String,
    pub eli: String,
    pub fay: String,
}

impl Demo {
    pub async fn seed(app: &TestApp) -> Demo {
        let report = warren::seed::demo(&app.db)
            .await
            .map_err(|e| e.message())
            .expect("demo seed");
        Demo {
            ana: report.token,
            bo: token(app, "bo@demo.example").await,
            chen: token(app, "chen@demo.example").await,
            dana: token(app, "dana@demo.example").await,
            eli: token(app, "eli@demo.example").await,
            fay: token(app, "fay@demo.example").await,
        }
    }
}

pub async fn person_uuid(app: &TestApp, email: &str) -> Uuid {
    warren::rules::person::find_by_email(&app.db.conn, email)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no person {email}"))
        .id
}

pub async fn token(app: &TestApp, email: &str) -> String {
    let person = person_uuid(app, email).await;
    warren::rules::auth::create_token(&app.db.conn, person, "test", TokenScope::Write, None)
        .await
        .map_err(|e| e.message())
        .expect("token")
        .secret
}

pub async fn person_id(app: &TestApp, email: &str) -> String {
    global_id(NodeKind::Person, person_uuid(app, email).await).0
}

pub async fn team_id(app: &TestApp, name: &str) -> String {
    let team = entity::team::Entity::find()
        .filter(entity::team::Column::Name.eq(name))
        .one(&app.db.conn)
        .await
        .expect("query")
        .unwrap_or_else(|| panic!("no team {name}"));
    global_id(NodeKind::Team, team.id).0
}

pub async fn app_uuid(app: &TestApp, name: &str) -> Uuid {
    entity::app::Entity::find()
        .filter(entity::app::Column::Name.eq(name))
        .one(&app.db.conn)
        .await
        .expect("query")
        .unwrap_or_else(|| panic!("no app {name}"))
        .id
}

pub async fn app_id(app: &TestApp, name: &str) -> String {
    global_id(NodeKind::App, app_uuid(app, name).await).0
}

pub async fn payment_method_id(app: &TestApp, label: &str) -> String {
    let pm = entity::payment_method::Entity::find()
        .filter(entity::payment_method::Column::Label.eq(label))
        .one(&app.db.conn)
        .await
        .expect("query")
        .unwrap_or_else(|| panic!("no payment method {label}"));
    global_id(NodeKind::PaymentMethod, pm.id).0
}

/// `token`'s holder invites `email` to the team Rocket as LIMITED; returns the accept link.
pub async fn invite_to_rocket(app: &TestApp, token: &str, email: &str) -> String {
    let rocket = team_id(app, "Rocket").await;
    let (body, code) = app
        .mutate(
            token,
            "inviteToTeam",
            serde_json::json!({ "teamId": rocket, "email": email, "role": "LIMITED" }),
            "acceptUrl",
        )
        .await;
    assert_eq!(code, None, "{body}");
    body["data"]["inviteToTeam"]["acceptUrl"]
        .as_str()
        .expect("acceptUrl")
        .to_owned()
}
