//! Cancelling an account races the departures it must not coincide with: the other UNLIMITED
//! member leaving a team, the other biller leaving a payment method. One of the two must be
//! refused (CONFLICT), so no team or payment method is ever stranded.

use crate::common;

use crate::common::TestApp;
use entity::enums::{AccountType, PaymentType, TeamRole};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use warren::api::relay::{NodeKind, global_id};
use warren::seed::world::{Clock, World};

const CANCEL: &str = "cancelAccount";

/// Two developers with tokens, named after the race.
async fn pair(
    world: &mut World<'_, sea_orm::DatabaseConnection>,
    race: &str,
) -> [(Uuid, String); 2] {
    let mut pair = Vec::new();
    for who in ["a", "b"] {
        let email = format!("{who}-{race}@cancel.example");
        pair.push(common::person_with_token(world, who, &email, AccountType::Developer).await);
    }
    let b = pair.pop().expect("b");
    let a = pair.pop().expect("a");
    [a, b]
}

/// A and B are a team's two UNLIMITED members; A cancels while B leaves, 20 times over.
async fn cancelling_while_the_other_unlimited_member_leaves(app: TestApp) {
    let mut world = World::new(&app.db.conn, Clock::now());
    for i in 0..20 {
        let [(a, ta), (b, tb)] = pair(&mut world, &format!("team{i}")).await;
        let team = world.team(&format!("crew {i}")).await.expect("team");
        for person in [a, b] {
            world
                .member(team, person, TeamRole::Unlimited)
                .await
                .expect("member");
        }
        let (cancelled, left) = tokio::join!(
            app.mutation_code(&ta, CANCEL, json!({})),
            app.mutation_code(
                &tb,
                "leaveTeam",
                json!({ "teamId": global_id(NodeKind::Team, team).0 })
            ),
        );
        let mut outcomes = [cancelled.clone(), left.clone()];
        outcomes.sort();
        assert_eq!(outcomes, [None, Some("CONFLICT".to_owned())], "race {i}");
        let unlimited = entity::team_member::Entity::find()
            .filter(entity::team_member::Column::TeamId.eq(team))
            .filter(entity::team_member::Column::Role.eq(TeamRole::Unlimited))
            .count(&app.db.conn)
            .await
            .expect("count");
        assert_eq!(unlimited, 1, "race {i}: {cancelled:?} {left:?}");
    }
}

/// A and B bill a payment method directly; A cancels while B removes itself, 20 times over.
async fn cancelling_while_the_other_biller_leaves(app: TestApp) {
    let mut world = World::new(&app.db.conn, Clock::now());
    for i in 0..20 {
        let [(a, ta), (b, tb)] = pair(&mut world, &format!("pm{i}")).await;
        let pm = world
            .payment_method(
                &format!("card {i}"),
                PaymentType::CreditCard,
                "bills@cancel.example",
            )
            .await
            .expect("payment method");
        for person in [a, b] {
            world.bill(pm, person).await.expect("billing");
        }
        let (cancelled, removed) = tokio::join!(
            app.mutation_code(&ta, CANCEL, json!({})),
            app.mutation_code(
                &tb,
                "removePaymentMethodPerson",
                json!({
                    "paymentMethodId": global_id(NodeKind::PaymentMethod, pm).0,
                    "personId": global_id(NodeKind::Person, b).0,
                })
            ),
        );
        let mut outcomes = [cancelled.clone(), removed.clone()];
        outcomes.sort();
        assert_eq!(outcomes, [None, Some("CONFLICT".to_owned())], "race {i}");
        let billers = entity::payment_method_person::Entity::find()
            .filter(entity::payment_method_person::Column::PaymentMethodId.eq(pm))
            .count(&app.db.conn)
            .await
            .expect("count");
        assert_eq!(billers, 1, "race {i}: {cancelled:?} {removed:?}");
    }
}

on_both_databases!(
    cancelling_while_the_other_unlimited_member_leaves,
    cancelling_while_the_other_biller_leaves,
);
