//! The `delete_session` Lambda: see `im_functions::by_name::delete_session`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::delete_session()).await
}
