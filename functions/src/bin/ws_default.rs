//! The `ws_default` Lambda: see `im_functions::by_name::ws_default`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::ws_default()).await
}
