//! The `list_mutes` Lambda: see `im_functions::by_name::list_mutes`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::list_mutes()).await
}
