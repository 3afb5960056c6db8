use common::bus::listener::Outcome;
use common::replica::{Applied, Replica, Versioned};
use common::testing::scraped;
use mongodb::bson::doc;
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::helpers::counting_database;

/// A replicated document, as a service keeps one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Copy {
    #[serde(rename = "_id")]
    id: ObjectId,
    title: String,
    version: i64,
}

impl Versioned for Copy {
    fn version(&self) -> i64 {
        self.version
    }
}

/// Commands the process's counting clients sent so far, by name: with the turn to count held
/// ([`counting_database`]), this test's.
async fn sent(command: &str) -> f64 {
    scraped(
        "mongodb_commands_total",
        &[&format!(r#"command="{command}""#)],
    )
    .await
}

#[tokio::test]
async fn the_next_event_is_one_write_and_only_a_duplicate_or_a_gap_reads_the_copy() {
    let (_turn, database) = counting_database().await;
    let replica = Replica::new(database.collection::<Copy>("copies"));
    let id = ObjectId::new();
    let created = Copy {
        id,
        title: "first".to_owned(),
        version: 0,
    };
    assert_eq!(replica.create(&created).await.unwrap(), Outcome::Done);
    assert_eq!(replica.create(&created).await.unwrap(), Outcome::Done);

    let (writes, reads) = (sent("findAndModify").await, sent("find").await);
    let applied = replica
        .apply(id, 1, doc! { "title": "second" })
        .await
        .unwrap();
    let second = Copy {
        title: "second".to_owned(),
        version: 1,
        ..created.clone()
    };
    assert_eq!(applied, Applied::Current(second.clone()));
    assert_eq!(sent("findAndModify").await - writes, 1.0);
    assert_eq!(
        sent("find").await - reads,
        0.0,
        "the next event read the copy"
    );

    // Delivered again: a duplicate, the copy left as it is.
    let again = replica.apply(id, 1, doc! { "title": "other" }).await;
    assert_eq!(again.unwrap(), Applied::Current(second.clone()));
    // A gap, and a copy not made yet: both wait.
    let gap = replica.apply(id, 3, doc! { "title": "fourth" }).await;
    assert_eq!(gap.unwrap(), Applied::NotYet);
    let missing = replica
        .apply(ObjectId::new(), 1, doc! { "title": "x" })
        .await;
    assert_eq!(missing.unwrap(), Applied::NotYet);
    // A version no event brings, with none before it to write on: older than the copy's.
    let lowest = replica.apply(id, i64::MIN, doc! { "title": "x" }).await;
    assert_eq!(lowest.unwrap(), Applied::Current(second.clone()));
    let stored = database
        .collection::<Copy>("copies")
        .find_one(doc! { "_id": id })
        .await
        .unwrap();
    assert_eq!(stored, Some(second));
}
