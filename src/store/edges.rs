//! Every edge's statement, by the type whose field it is: the rows an edge reads, the column
//! naming its parent and the key it is ordered and paged by (`EdgeSql`). One batched statement per
//! page shape reads an edge below many parents (`EdgeSql::pages`, `EdgeSql::counts`).
//!
//! `Person.paymentMethods` is not here: which payment methods a person bills to is a rule, so its
//! statement is built from the rule's SQL in `rules::access` and declared beside its type.

/// The edges of `App`.
pub mod app {
    use crate::store::sql::EdgeSql;

    pub static TEAMS: EdgeSql = EdgeSql {
        list: "App.teams",
        from: "team_app e",
        node: "JOIN team n ON n.id = e.team_id",
        parent: "e.app_id",
        key: "n.id",
        select: "n.*",
        condition: "",
    };

    pub static DEVELOPERS: EdgeSql = EdgeSql {
        list: "App.developers",
        from: "developer_connection e",
        node: "JOIN person n ON n.id = e.person_id",
        parent: "e.app_id",
        key: "n.id",
        select: "n.*, e.team_id AS edge_team_id, e.connected_at AS edge_connected_at",
        condition: "",
    };

    /// Pending APP invitations name the app; pending TAKE_OVER_BILLING ones list it.
    pub static INVITATIONS: EdgeSql = EdgeSql {
        list: "App.invitations",
        from: "(SELECT id AS invitation_id, app_id FROM invitation WHERE kind = 'APP' \
               UNION SELECT ia.invitation_id, ia.app_id FROM invitation_app ia \
               JOIN invitation i ON i.id = ia.invitation_id WHERE i.kind = 'TAKE_OVER_BILLING') e \
               JOIN invitation n ON n.id = e.invitation_id",
        node: "",
        parent: "e.app_id",
        key: "n.id",
        select: "n.*",
        condition: "n.state = 'PENDING'",
    };

    /// Every SSH key of everyone with a developer connection to the environment's app.
    pub static AUTHORIZED_KEYS: EdgeSql = EdgeSql {
        list: "Environment.authorizedKeys",
        from: "environment env JOIN developer_connection dc ON dc.app_id = env.app_id \
               JOIN ssh_key n ON n.person_id = dc.person_id",
        node: "",
        parent: "env.id",
        key: "n.id",
        select: "n.*",
        condition: "",
    };
}

/// The edges of `PaymentMethod`.
pub mod payment_method {
    use crate::store::sql::EdgeSql;

    pub static APPS: EdgeSql = EdgeSql {
        list: "PaymentMethod.apps",
        from: "app n",
        node: "",
        parent: "n.payment_method_id",
        key: "n.id",
        select: "n.*",
        condition: "",
    };

    pub static PEOPLE: EdgeSql = EdgeSql {
        list: "PaymentMethod.people",
        from: "payment_method_person e",
        node: "JOIN person n ON n.id = e.person_id",
        parent: "e.payment_method_id",
        key: "n.id",
        select: "n.*",
        condition: "",
    };

    pub static TEAMS: EdgeSql = EdgeSql {
        list: "PaymentMethod.teams",
        from: "payment_method_team e",
        node: "JOIN team n ON n.id = e.team_id",
        parent: "e.payment_method_id",
        key: "n.id",
        select: "n.*",
        condition: "",
    };

    pub static INVITATIONS: EdgeSql = EdgeSql {
        list: "PaymentMethod.invitations",
        from: "invitation n",
        node: "",
        parent: "n.payment_method_id",
        key: "n.id",
        select: "n.*",
        condition: "n.kind = 'PAYMENT_METHOD' AND n.state = 'PENDING'",
    };
}

/// The edges of `Person`.
pub mod person {
    use crate::store::sql::EdgeSql;

    pub static TEAMS: EdgeSql = EdgeSql {
        list: "Person.teams",
        from: "team_member e",
        node: "JOIN team n ON n.id = e.team_id",
        parent: "e.person_id",
        key: "n.id",
        select: "n.*, e.role AS edge_role, e.joined_at AS edge_joined_at",
        condition: "",
    };

    pub static APPS: EdgeSql = EdgeSql {
        list: "Person.apps",
        from: "developer_connection e",
        node: "JOIN app n ON n.id = e.app_id",
        parent: "e.person_id",
        key: "n.id",
        select: "n.*, e.team_id AS edge_team_id, e.connected_at AS edge_connected_at",
        condition: "",
    };

    pub static INVITATIONS: EdgeSql = EdgeSql {
        list: "Person.invitations",
        from: "person e JOIN invitation n ON n.email = e.email",
        node: "",
        parent: "e.id",
        key: "n.id",
        select: "n.*",
        condition: "",
    };

    pub static TOKENS: EdgeSql = EdgeSql {
        list: "Person.personalAccessTokens",
        from: "personal_access_token n",
        node: "",
        parent: "n.person_id",
        key: "n.id",
        select: "n.*",
        condition: "n.revoked_at IS NULL",
    };
}

/// The edges of `Team`.
pub mod team {
    use crate::store::sql::EdgeSql;

    pub static MEMBERS: EdgeSql = EdgeSql {
        list: "Team.members",
        from: "team_member e",
        node: "JOIN person n ON n.id = e.person_id",
        parent: "e.team_id",
        key: "n.id",
        select: "n.*, e.role AS edge_role, e.joined_at AS edge_joined_at",
        condition: "",
    };

    pub static APPS: EdgeSql = EdgeSql {
        list: "Team.apps",
        from: "team_app e",
        node: "JOIN app n ON n.id = e.app_id",
        parent: "e.team_id",
        key: "n.id",
        select: "n.*",
        condition: "",
    };

    pub static PAYMENT_METHODS: EdgeSql = EdgeSql {
        list: "Team.paymentMethods",
        from: "payment_method_team e",
        node: "JOIN payment_method n ON n.id = e.payment_method_id",
        parent: "e.team_id",
        key: "n.id",
        select: "n.*",
        condition: "",
    };

    pub static INVITATIONS: EdgeSql = EdgeSql {
        list: "Team.invitations",
        from: "invitation n",
        node: "",
        parent: "n.team_id",
        key: "n.id",
        select: "n.*",
        condition: "n.kind = 'TEAM' AND n.state = 'PENDING'",
    };

    pub static ACCESS_REQUESTS: EdgeSql = EdgeSql {
        list: "Team.accessRequests",
        from: "access_request n",
        node: "",
        parent: "n.team_id",
        key: "n.id",
        select: "n.*",
        condition: "",
    };
}
