//! The `request_password_reset` Lambda: see `im_functions::by_name::request_password_reset`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::request_password_reset()).await
}
