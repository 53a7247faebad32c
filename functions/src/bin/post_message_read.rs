//! The `post_message_read` Lambda: see `im_functions::by_name::post_message_read`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::post_message_read()).await
}
