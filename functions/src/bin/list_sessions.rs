//! The `list_sessions` Lambda: see `im_functions::by_name::list_sessions`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::list_sessions()).await
}
