//! The `ignore_friend` Lambda: see `im_functions::by_name::ignore_friend`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::ignore_friend()).await
}
