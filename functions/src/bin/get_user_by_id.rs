//! The `get_user_by_id` Lambda: see `im_functions::by_name::get_user_by_id`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::get_user_by_id()).await
}
