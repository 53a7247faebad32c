//! The `get_user_settings` Lambda: see `im_functions::by_name::get_user_settings`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::get_user_settings()).await
}
