use common::testing::signed_in_user;
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn can_fetch_a_list_of_tickets() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let mut created = Vec::new();
    for (title, price) in [("a", 10.0), ("b", 20.0), ("c", 30.5)] {
        created.push(app.create_ticket(&cookie, title, price).await);
    }
    let listed = app.list_tickets().await;
    assert_eq!(listed.len(), 3);
    assert_eq!(listed, created, "every ticket, in insertion order");
}

#[tokio::test]
async fn an_empty_list_is_an_empty_array() {
    let app = spawn_app().await;
    assert_eq!(app.list_tickets().await, Vec::<Value>::new());
}

#[tokio::test]
async fn lists_only_unreserved_tickets() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let first = app.create_ticket(&cookie, "a", 10.0).await;
    let reserved = app.create_ticket(&cookie, "b", 20.0).await;
    let third = app.create_ticket(&cookie, "c", 30.0).await;
    let order = app.reserve(&reserved).await;
    let ids: Vec<Value> = app
        .list_tickets()
        .await
        .into_iter()
        .map(|ticket| ticket["id"].clone())
        .collect();
    assert_eq!(ids, [first["id"].clone(), third["id"].clone()]);

    // Released, it is for sale again.
    app.backing
        .publish(&crate::helpers::order_cancelled(&order))
        .await;
    common::testing::events::eventually("the released ticket is listed", || async {
        app.list_tickets().await.len() == 3
    })
    .await;
}
