//! The `delete_message` Lambda: see `im_functions::by_name::delete_message`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::delete_message()).await
}
