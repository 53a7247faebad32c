//! The `accept_friend` Lambda: see `im_functions::by_name::accept_friend`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::accept_friend()).await
}
