//! The `withdraw_friend` Lambda: see `im_functions::by_name::withdraw_friend`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::withdraw_friend()).await
}
