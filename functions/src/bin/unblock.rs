//! The `unblock` Lambda: see `im_functions::by_name::unblock`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::unblock()).await
}
