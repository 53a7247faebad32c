//! The `list_conversations` Lambda: see `im_functions::by_name::list_conversations`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::list_conversations()).await
}
