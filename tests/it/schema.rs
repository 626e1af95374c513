//! `schema.graphql` is generated from the code and checked in. This test fails when the two
//! drift apart; regenerate with `UPDATE_SCHEMA=1 cargo test --test it schema::`.

use std::path::Path;

#[test]
fn schema_file_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let generated = warren::api::schema_sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write schema.graphql");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schema.graphql is out of date with the code.\n\
         Regenerate it with `UPDATE_SCHEMA=1 cargo test --test it schema::` and commit the result."
    );
}

/// `warren schema` prints exactly the checked-in file, without a database.
#[test]
fn warren_schema_prints_the_checked_in_file() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_warren"))
        .arg("schema")
        .env("WARREN_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .expect("run warren schema");
    assert!(output.status.success(), "{output:?}");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(String::from_utf8_lossy(&output.stdout) == checked_in);
}

/// The names clients are written against (docs/rules.md, "The API's names").
#[test]
fn schema_has_every_name_clients_rely_on() {
    let sdl = warren::api::schema_sdl();
    let required = [
        (
            "type Query",
            &["viewer", "invitation(", "node(", "nodes("][..],
        ),
        (
            "type Person",
            &[
                "id",
                "name",
                "email",
                "accountType",
                "createdAt",
                "teams(",
                "apps(",
                "paymentMethods(",
                "invitations(",
                "sshKeys",
                "personalAccessTokens(",
            ][..],
        ),
        (
            "type Team",
            &[
                "id",
                "name",
                "createdAt",
                "viewerRole",
                "members(",
                "apps(",
                "paymentMethods(",
                "invitations(",
                "accessRequests(",
                "deletionImpact",
            ][..],
        ),
        (
            "type App",
            &[
                "id",
                "name",
                "description",
                "createdAt",
                "isTrial",
                "paymentMethod",
                "environments",
                "teams(",
                "developers(",
                "technicalContacts",
                "invitations(",
                "viewerAccess",
            ][..],
        ),
        ("type AppAccess", &["developer", "full", "billing"][..]),
        (
            "type Environment",
            &["id", "name", "createdAt", "app", "authorizedKeys("][..],
        ),
        (
            "type PaymentMethod",
            &[
                "id",
                "label",
                "paymentType",
                "invoiceEmail",
                "invoiceAddress",
                "vatId",
                "createdAt",
                "apps(",
                "people(",
                "teams(",
                "invitations(",
                "deletionImpact",
            ][..],
        ),
        ("type DeletionImpact", &["apps", "paymentMethods"][..]),
        (
            "type SshKey",
            &["id", "title", "publicKey", "fingerprint", "createdAt"][..],
        ),
        (
            "type PersonalAccessToken",
            &[
                "id",
                "name",
                "prefix",
                "scope",
                "createdAt",
                "lastUsedAt",
                "expiresAt",
            ][..],
        ),
        (
            "type Invitation",
            &[
                "id",
                "kind",
                "state",
                "email",
                "role",
                "createdAt",
                "expiresAt",
                "invitedBy",
                "team",
                "app",
                "paymentMethod",
                "apps",
            ][..],
        ),
        (
            "type AccessRequest",
            &["id", "state", "team", "app", "requester", "createdAt"][..],
        ),
        (
            "type PersonTeamEdge",
            &["role", "joinedAt", "cursor", "node"][..],
        ),
        ("type PersonAppEdge", &["team", "cursor", "node"][..]),
        ("type TeamMemberEdge", &["role", "joinedAt"][..]),
        ("type TeamAppEdge", &["viewerSubscribed"][..]),
        ("type AppDeveloperEdge", &["team", "connectedAt"][..]),
        (
            "type TeamMemberConnection",
            &["edges", "nodes", "pageInfo", "totalCount"][..],
        ),
        (
            "type PageInfo",
            &["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"][..],
        ),
        ("enum AccountType", &["DEVELOPER", "CLIENT"][..]),
        ("enum TeamRole", &["UNLIMITED", "LIMITED"][..]),
        (
            "enum InvitationKind",
            &["TEAM", "APP", "PAYMENT_METHOD", "TAKE_OVER_BILLING"][..],
        ),
        (
            "enum InvitationState",
            &["PENDING", "ACCEPTED", "DECLINED", "REVOKED", "EXPIRED"][..],
        ),
        (
            "enum AccessRequestState",
            &["PENDING", "APPROVED", "DENIED", "CANCELLED"][..],
        ),
        (
            "enum PaymentType",
            &["CREDIT_CARD", "SEPA_DEBIT", "INVOICE"][..],
        ),
        ("enum TokenScope", &["READ", "WRITE"][..]),
        ("interface Node", &["id"][..]),
        (
            "type Mutation",
            &[
                "updateViewer(",
                "addSshKey(",
                "removeSshKey(",
                "createPersonalAccessToken(",
                "revokePersonalAccessToken(",
                "createTeam(",
                "renameTeam(",
                "deleteTeam(",
                "createEventFilter(",
                "deleteEventFilter(",
                "changeTeamMemberRole(",
                "removeTeamMember(",
                "leaveTeam(",
                "createApp(",
                "updateApp(",
                "deleteApp(",
                "createEnvironment(",
                "renameEnvironment(",
                "deleteEnvironment(",
                "addAppToTeam(",
                "removeAppFromTeam(",
                "subscribeToApp(",
                "unsubscribeFromApp(",
                "switchDeveloperConnection(",
                "removeAppDeveloper(",
                "setTechnicalContacts(",
                "createPaymentMethod(",
                "updatePaymentMethod(",
                "deletePaymentMethod(",
                "connectTeamToPaymentMethod(",
                "disconnectTeamFromPaymentMethod(",
                "removePaymentMethodPerson(",
                "changeAppPaymentMethod(",
                "inviteToTeam(",
                "inviteToApp(",
                "inviteToPaymentMethod(",
                "inviteToTakeOverBilling(",
                "acceptInvitation(",
                "declineInvitation(",
                "revokeInvitation(",
                "requestAppAccess(",
                "approveAccessRequest(",
                "denyAccessRequest(",
                "cancelAccessRequest(",
                "cancelAccount(",
            ][..],
        ),
        (
            "type Event",
            &[
                "id",
                "sequence",
                "cursor",
                "type",
                "category",
                "occurredAt",
                "actor",
                "summary",
                "payload",
                "subjects",
                "team",
                "app",
                "paymentMethod",
                "person",
            ][..],
        ),
        ("type EventSubject", &["kind", "id", "name", "node"][..]),
        ("type EventFilter", &["id", "name", "filter"][..]),
        (
            "type EventConnection",
            &["edges", "nodes", "pageInfo", "totalCount"][..],
        ),
        (
            "input EventFilterInput",
            &[
                "types",
                "categories",
                "teamId",
                "appId",
                "paymentMethodId",
                "savedFilterId",
            ][..],
        ),
        (
            "enum EventCategory",
            &["COLLABORATION", "TECHNICAL", "BILLING"][..],
        ),
        (
            "enum EventType",
            &["TEAM_CREATED", "MEMBER_INVITED", "APP_DELETED"][..],
        ),
    ];
    for (header, fields) in required {
        let start = sdl
            .find(&format!("{header} "))
            .unwrap_or_else(|| panic!("`{header}` is missing from the schema"));
        let body = &sdl[start..start + sdl[start..].find("\n}").unwrap_or(0)];
        for field in fields {
            assert!(
                body.lines().any(|l| l.trim_start().starts_with(field)),
                "`{header}` lacks `{field}`"
            );
        }
    }
}

/// Every type and field clients see has a description (GraphiQL shows them; so do client
/// generators): the SDL's definitions and fields, parsed. (Arguments are described in their
/// field's description.)
#[test]
fn every_type_and_field_has_a_description() {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let sdl = warren::api::schema_sdl();
    let document = async_graphql::parser::parse_schema(&sdl).expect("the SDL parses");
    let mut missing = Vec::new();
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(definition) = definition else {
            continue;
        };
        let definition = &definition.node;
        let name = definition.name.node.as_str();
        if definition.description.is_none() {
            missing.push(name.to_owned());
        }
        let fields = match &definition.kind {
            TypeKind::Object(object) => &object.fields,
            TypeKind::Interface(interface) => &interface.fields,
            _ => continue,
        };
        for field in fields {
            let field = &field.node;
            if field.description.is_none() {
                missing.push(format!("{name}.{}", field.name.node));
            }
        }
    }
    assert!(missing.is_empty(), "without a description: {missing:?}");
}
