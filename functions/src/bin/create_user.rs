//! The `create_user` Lambda: see `im_functions::by_name::create_user`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::create_user()).await
}
