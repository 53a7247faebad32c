//! Reports (issue 27), in the conversations table: `report#<YYYY-MM-DD>` partitions, one item
//! per report numbered by its microsecond, so an operator lists a day's reports with one Query
//! (docs/SECURITY.md). Written once, never changed or deleted by the service.

use super::ports::ReportStore;
use super::{aws, lost_condition, n, s, to_item, Result};
use crate::domain::report::Report;
use im_adapters::Clients;

/// Stores a report under `report#<day>` at `number`, unless that number is taken (`false`).
pub async fn file(clients: &Clients, day: &str, number: u64, report: &Report) -> Result<bool> {
    let mut item = to_item(report)?;
    item.insert("pk".into(), s(format!("report#{day}")));
    item.insert("sk".into(), n(number));
    let put = clients
        .dynamodb
        .put_item()
        .table_name(&clients.config.tables.conversations)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match put {
        Ok(_) => Ok(true),
        Err(err) if lost_condition(&err) => Ok(false),
        Err(err) => Err(aws(err)),
    }
}

impl ReportStore for Clients {
    async fn file_report(&self, day: &str, number: u64, report: &Report) -> Result<bool> {
        file(self, day, number, report).await
    }
}
