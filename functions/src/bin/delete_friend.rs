//! The `delete_friend` Lambda: see `im_functions::by_name::delete_friend`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::delete_friend()).await
}
