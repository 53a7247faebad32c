//! The `follow` Lambda: see `im_functions::by_name::follow`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::follow()).await
}
