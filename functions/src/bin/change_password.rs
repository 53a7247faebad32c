//! The `change_password` Lambda: see `im_functions::by_name::change_password`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::change_password()).await
}
