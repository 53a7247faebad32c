//! The `get_message_receipts` Lambda: see `im_functions::by_name::get_message_receipts`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::get_message_receipts()).await
}
