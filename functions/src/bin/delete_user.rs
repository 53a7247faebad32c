//! The `delete_user` Lambda: see `im_functions::by_name::delete_user`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::delete_user()).await
}
