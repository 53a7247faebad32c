//! The `reconnect` Lambda: see `im_functions::by_name::reconnect`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::reconnect()).await
}
